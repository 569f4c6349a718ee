import { describe, expect, it } from 'vitest';
import { symmetric, transPacific } from '../../src/sim/network.ts';
import { runBulk } from '../support/bulk.ts';
import { goodputMbps } from '../support/tunnelPair.ts';

const MiB = 1024 * 1024;
const STEADY_FROM_MS = 3000;

/**
 * The core's headline promise on the trans-Pacific reference path (180 ms RTT, 100 Mbit/s,
 * 60 ms drop-tail queue): byte-exact delivery, and once start-up is over a goodput of at least
 * 90% of what the loss leaves, 100 * (1 - p), without filling the bottleneck queue.
 */
describe('bulk transfer over a lossy trans-Pacific path', () => {
  const scenarios = [
    { name: 'clean', lossRate: 0, expectedLoss: 0 },
    { name: '3% random loss', lossRate: 0.03, expectedLoss: 0.03 },
    { name: '5% random loss', lossRate: 0.05, expectedLoss: 0.05 },
    { name: '10% random loss', lossRate: 0.1, expectedLoss: 0.1 },
    { name: 'bursty loss (Gilbert-Elliott 3%, bursts of 6)', burst: { meanLossRate: 0.03, meanBurstLength: 6 }, expectedLoss: 0.03 },
  ];
  for (const sc of scenarios) {
    for (const reverse of [false, true]) {
      if (reverse && sc.lossRate !== 0.03) continue;
      it(`${sc.name}${reverse ? ', listener to dialer' : ''}: 60 MiB intact at >= 90% of the loss-limited rate`, () => {
        const seed = 1000 + Math.round((sc.lossRate ?? 0) * 100) + (reverse ? 7 : 0);
        const path = transPacific({ lossRate: sc.lossRate, burst: sc.burst });
        const r = runBulk({
          paths: [path],
          seed,
          bytes: 60 * MiB,
          limitMs: 40_000,
          reverse,
          steadyFromMs: STEADY_FROM_MS,
        });
        const context = `seed ${seed}: ${JSON.stringify({ ...r, progress: undefined })}`;
        expect(r.corruptAt, context).toBe(-1);
        expect(r.delivered, context).toBe(60 * MiB);
        expect(r.fin, context).toBe(true);
        // Steady state: after start-up, and before the last round trip, which carries only the
        // resends of the last losses (a faster start leaves a shorter window for it to weigh on).
        const goodput = goodputMbps(r.progress, STEADY_FROM_MS, r.finishedAtMs - (path.aToB.delayMs + path.bToA.delayMs));
        expect(goodput, `${context} goodput ${goodput.toFixed(1)} Mbit/s`).toBeGreaterThanOrEqual(0.9 * 100 * (1 - sc.expectedLoss));
        // Pacing: once running, the bottleneck queue (almost) never overflows.
        expect(r.steadyQueueDrops, context).toBeLessThan(0.005 * r.sent);
      });
    }
  }
});

describe('bulk transfer over a reordering path', () => {
  it('jitter of 10 ms that reorders packets (and 2% loss): no storm of spurious retransmissions, goodput stays high', () => {
    const seed = 1100;
    const r = runBulk({
      paths: [symmetric({ delayMs: 90, rateMbps: 100, queueMs: 60, lossRate: 0.02, jitterMs: 10, reorder: true })],
      seed,
      bytes: 60 * MiB,
      limitMs: 40_000,
      steadyFromMs: STEADY_FROM_MS,
    });
    const context = `seed ${seed}: ${JSON.stringify(r.steady)}`;
    expect(r.corruptAt, context).toBe(-1);
    expect(r.delivered, context).toBe(60 * MiB);
    // Each lost packet is sent again about once: reordering is not mistaken for loss.
    expect(r.steady.retransmittedFraction, context).toBeLessThan(0.04);
    expect(goodputMbps(r.progress, STEADY_FROM_MS, r.finishedAtMs), context).toBeGreaterThan(80);
  });
});

describe('bulk transfer at the bounds of --mtu', () => {
  // The bounds the CLI accepts (src/cli/relayOptions.ts): the smallest packets give FEC the most
  // symbols per byte, the largest the most room per repair.
  for (const mtu of [1024, 1404]) {
    it(`mtu ${mtu}: 8 MiB intact over 3% loss, with FEC and retransmission`, () => {
      const seed = 1200 + mtu;
      const r = runBulk({ paths: [transPacific({ lossRate: 0.03 })], seed, bytes: 8 * MiB, limitMs: 20_000, config: { mtu } });
      const context = `seed ${seed}: ${JSON.stringify(r.steady)}`;
      expect(r.corruptAt, context).toBe(-1);
      expect(r.delivered, context).toBe(8 * MiB);
      expect(r.fin, context).toBe(true);
    });
  }
});
