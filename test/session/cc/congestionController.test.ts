/**
 * The contract every congestion controller keeps, whatever its model: each implementation of
 * `CongestionController` runs the same tests on a miniature path (./bottleneck.ts). A new
 * controller joins by adding one line to `controllers`.
 */
import { describe, expect, it } from 'vitest';
import { BbrController } from '../../../src/session/cc/bbr.ts';
import type { CongestionController } from '../../../src/session/cc/congestionController.ts';
import { Bottleneck, MSS } from './bottleneck.ts';

const controllers: Array<{ name: string; make: () => CongestionController }> = [
  { name: 'BbrController', make: () => new BbrController({ mss: MSS, initialCwndPackets: 32, initialRate: 12_500, initialRtt: 200, maxRate: Infinity }) },
];

/** 20 Mbit/s, 40 ms, a 30 ms queue. */
const PATH = { rate: 2500, rttMs: 40, queueMs: 30 };

describe.each(controllers)('$name keeps the CongestionController contract', ({ make }) => {
  it('fills a clean bottleneck without keeping its queue full, with a sane window throughout', () => {
    const b = new Bottleneck(make(), PATH).run(4000);
    expect(b.goodput(2000)).toBeGreaterThanOrEqual(0.95 * PATH.rate);
    const steady = b.trace.filter((t) => t.t > 2000);
    const meanQueue = steady.reduce((sum, t) => sum + t.queueMs, 0) / steady.length;
    expect(meanQueue).toBeLessThan(PATH.queueMs / 2);
    for (const t of b.trace) {
      expect(t.cwnd).toBeGreaterThanOrEqual(4 * MSS);
      expect(t.pacingRate).toBeGreaterThan(0);
      expect(Number.isFinite(t.pacingRate)).toBe(true);
    }
    expect(b.cc.bottleneckBandwidth).toBeGreaterThan(0.9 * PATH.rate);
    expect(b.cc.bottleneckBandwidth).toBeLessThan(1.1 * PATH.rate);
  });

  it('takes random loss for what it is: 3% loss before the bottleneck leaves 90% of the capacity in use', () => {
    const b = new Bottleneck(make(), { ...PATH, lossRate: 0.03, seed: 7 }).run(6000);
    expect(b.goodput(2000)).toBeGreaterThanOrEqual(0.9 * PATH.rate);
    expect(b.cc.randomLossRate).toBeGreaterThan(0);
    expect(b.cc.randomLossRate).toBeLessThan(0.1);
  });

  it('keeps what it learnt while the application sends slower than the path', () => {
    const b = new Bottleneck(make(), PATH).run(3000);
    const learnt = b.cc.bottleneckBandwidth;
    b.run(15_000, PATH.rate / 5);
    expect(b.goodput(b.now - 5000)).toBeCloseTo(PATH.rate / 5, -1);
    expect(b.cc.bottleneckBandwidth).toBeGreaterThanOrEqual(0.95 * learnt);
    expect(b.cc.steadySince).toBeLessThan(b.now);
  });

  it('starts over on reset, and learns the path again', () => {
    const b = new Bottleneck(make(), PATH).run(3000);
    b.cc.reset();
    expect(b.cc.bottleneckBandwidth).toBe(0);
    expect(b.cc.steadySince).toBe(Infinity);
    b.run(3000);
    expect(b.goodput(b.now - 1000)).toBeGreaterThanOrEqual(0.95 * PATH.rate);
  });
});
