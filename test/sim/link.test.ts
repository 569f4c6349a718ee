import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/base/rng.ts';
import { Link, linkRng, type LinkConfig } from '../../src/sim/link.ts';

const WIRE = 1200 + 28; // payload + default IP/UDP overhead

/** Offers `n` packets of `size` bytes, one every `intervalMs` from t = 0; returns the verdicts. */
function offer(link: Link, n: number, intervalMs: number, size = 1200): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = link.send(i * intervalMs, size);
  return out;
}

function link(config: LinkConfig, seed: number): Link {
  return new Link(config, new SeededRng(seed));
}

/** Runs of consecutive drops in a verdict sequence. */
function burstLengths(verdicts: Float64Array): number[] {
  const runs: number[] = [];
  let run = 0;
  for (const v of verdicts) {
    if (v < 0) run++;
    else if (run > 0) {
      runs.push(run);
      run = 0;
    }
  }
  if (run > 0) runs.push(run);
  return runs;
}

const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
};

describe('Link: delay and jitter', () => {
  it('delivers exactly delayMs later without jitter or rate limit', () => {
    const l = link({ delayMs: 90 }, 1);
    expect(l.send(0, 1200)).toBe(90);
    expect(l.send(12.5, 1200)).toBe(102.5);
    expect(l.stats).toMatchObject({ sent: 2, delivered: 2, bytesDelivered: 2400 });
  });

  it('keeps jitter within [delay, delay + jitter), mean in the middle, and reorders when allowed', () => {
    const seed = 7;
    const n = 100_000;
    const l = link({ delayMs: 50, jitterMs: 10, reorder: true }, seed);
    const v = offer(l, n, 0.1);
    const extra = new Float64Array(n);
    let reordered = 0;
    for (let i = 0; i < n; i++) {
      extra[i] = v[i] - i * 0.1 - 50;
      if (i > 0 && v[i] < v[i - 1]) reordered++;
    }
    expect(Math.min(...extra), `seed ${seed}`).toBeGreaterThanOrEqual(0);
    expect(Math.max(...extra), `seed ${seed}`).toBeLessThan(10);
    // Uniform on [0, 10): mean 5, sd of the mean 10 / sqrt(12 n); allow 5 sd.
    expect(Math.abs(mean(extra) - 5), `seed ${seed}`).toBeLessThan((5 * 10) / Math.sqrt(12 * n));
    expect(reordered, `seed ${seed}`).toBeGreaterThan(n / 4);
  });

  it('never reorders by default, and jitter stays within its bounds', () => {
    const seed = 8;
    const n = 50_000;
    const l = link({ delayMs: 50, jitterMs: 10 }, seed);
    const v = offer(l, n, 0.5);
    let outOfBounds = 0;
    let reordered = 0;
    for (let i = 0; i < n; i++) {
      const extra = v[i] - i * 0.5 - 50;
      if (!(extra >= 0 && extra < 10)) outOfBounds++;
      if (i > 0 && v[i] < v[i - 1]) reordered++;
    }
    expect(outOfBounds, `seed ${seed}`).toBe(0);
    expect(reordered, `seed ${seed}`).toBe(0);
  });
});

describe('Link: loss', () => {
  it('drops independently at lossRate', () => {
    for (const [seed, p] of [
      [11, 0.01],
      [12, 0.05],
      [13, 0.2],
    ]) {
      const n = 200_000;
      const l = link({ delayMs: 10, lossRate: p }, seed);
      offer(l, n, 0.1);
      const measured = l.stats.droppedLoss / n;
      expect(Math.abs(measured - p), `seed ${seed}`).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
      // Independent loss: bursts are geometric with mean 1 / (1 - p).
      expect(l.stats.delivered + l.stats.droppedLoss).toBe(n);
    }
  });

  it('Gilbert-Elliott matches the mean loss rate and mean burst length', () => {
    for (const [seed, m, len] of [
      [21, 0.05, 4],
      [22, 0.02, 8],
      [23, 0.1, 2],
      [24, 0.03, 1],
    ]) {
      const n = 500_000;
      const l = link({ delayMs: 10, burstLoss: { meanLossRate: m, meanBurstLength: len } }, seed);
      const v = offer(l, n, 0.1);
      const measured = l.stats.droppedLoss / n;
      // Correlated losses: the variance of the mean grows by about (1 + rho) / (1 - rho).
      const r = 1 / len;
      const rho = 1 - r - (r * m) / (1 - m);
      const sd = Math.sqrt(((m * (1 - m)) / n) * ((1 + rho) / (1 - rho)));
      expect(Math.abs(measured - m), `seed ${seed}: loss ${measured} vs ${m}`).toBeLessThan(5 * sd);
      const bursts = burstLengths(v);
      // Each burst ends with probability r per packet, so its length is geometric with mean len.
      const sdBurst = Math.sqrt(1 - r) / r / Math.sqrt(bursts.length);
      expect(Math.abs(mean(bursts) - len), `seed ${seed}: burst ${mean(bursts)} vs ${len}`).toBeLessThan(
        5 * sdBurst + 1e-9,
      );
    }
  });

  it('rejects an unreachable burst configuration and other nonsense', () => {
    const rng = new SeededRng(1);
    expect(() => new Link({ delayMs: 1, burstLoss: { meanLossRate: 0.6, meanBurstLength: 1 } }, rng)).toThrow(
      RangeError,
    );
    expect(() => new Link({ delayMs: 1, burstLoss: { meanLossRate: 0.1, meanBurstLength: 0.5 } }, rng)).toThrow(
      RangeError,
    );
    expect(() => new Link({ delayMs: -1 }, rng)).toThrow(RangeError);
    expect(() => new Link({ delayMs: 1, lossRate: 1.5 }, rng)).toThrow(RangeError);
    expect(() => new Link({ delayMs: 1, rateMbps: NaN }, rng)).toThrow(RangeError);
    expect(() => new Link({ delayMs: 1, rateMbps: 10, queueMs: 5, queueBytes: 100 }, rng)).toThrow(RangeError);
    expect(() => new Link({ delayMs: 1, blackouts: [{ fromMs: 5, toMs: 1 }] }, rng)).toThrow(RangeError);
  });
});

describe('Link: bottleneck rate and queue', () => {
  it('serializes back-to-back packets at exactly the rate', () => {
    const l = link({ delayMs: 20, rateMbps: 10 }, 1);
    const tx = (WIRE * 8) / 10e3; // ms per packet at 10 Mbit/s
    for (let i = 0; i < 10; i++) expect(l.send(0, 1200)).toBeCloseTo(20 + (i + 1) * tx, 9);
    expect(l.queueDelayMs(0)).toBeCloseTo(10 * tx, 9);
  });

  it('caps throughput at rateMbps and bounds the queue at queueMs under 2x overload', () => {
    const seed = 31;
    const rate = 10;
    const tx = (WIRE * 8) / (rate * 1e3);
    const l = link({ delayMs: 90, rateMbps: rate, queueMs: 60 }, seed);
    const n = 40_000;
    const interval = tx / 2; // offered load: 2x the rate
    const v = offer(l, n, interval);
    let first = Infinity;
    let last = -Infinity;
    let maxWait = 0;
    for (let i = 0; i < n; i++) {
      if (v[i] < 0) continue;
      first = Math.min(first, v[i]);
      last = Math.max(last, v[i]);
      maxWait = Math.max(maxWait, v[i] - i * interval - 90 - tx);
    }
    // Deliveries are back to back once the queue is full: (delivered - 1) serializations.
    const mbps = ((l.stats.delivered - 1) * WIRE * 8) / (last - first) / 1e3;
    expect(Math.abs(mbps - rate) / rate, `seed ${seed}: ${mbps} Mbit/s`).toBeLessThan(1e-6);
    // The 60 ms of capacity include the packet's own serialization.
    expect(maxWait).toBeLessThanOrEqual(60 - tx + 1e-9);
    expect(maxWait).toBeGreaterThan(60 - 2 * tx);
    expect(l.stats.maxQueueDelayMs).toBeCloseTo(maxWait, 9);
    expect(Math.abs(l.stats.droppedQueue / n - 0.5)).toBeLessThan(0.01);
  });

  it('bounds the backlog at queueBytes', () => {
    const rate = 10;
    const bytesPerMs = (rate * 1e6) / 8 / 1e3;
    const l = link({ delayMs: 5, rateMbps: rate, queueBytes: 30_000 }, 1);
    offer(l, 5_000, 0.1);
    // A packet is accepted only if the backlog plus itself fits in 30 000 bytes.
    expect(l.stats.maxQueueDelayMs).toBeLessThanOrEqual((30_000 - WIRE) / bytesPerMs + 1e-9);
    expect(l.stats.maxQueueDelayMs).toBeGreaterThan((30_000 - 2 * WIRE) / bytesPerMs);
    expect(l.stats.droppedQueue).toBeGreaterThan(0);
  });

  it('never queues or drops below the rate', () => {
    const rate = 10;
    const tx = (WIRE * 8) / (rate * 1e3);
    const l = link({ delayMs: 90, rateMbps: rate, queueMs: 10 }, 1);
    const v = offer(l, 10_000, tx * 2);
    for (let i = 0; i < v.length; i++) expect(v[i]).toBeCloseTo(i * tx * 2 + tx + 90, 9);
    expect(l.stats.maxQueueDelayMs).toBe(0);
    expect(l.stats.droppedQueue).toBe(0);
  });

  it('counts overheadBytes in the rate', () => {
    const l = link({ delayMs: 0, rateMbps: 8, overheadBytes: 0 }, 1);
    expect(l.send(0, 1000)).toBeCloseTo(1, 12); // 8000 bits at 8 Mbit/s = 1 ms
  });

  it('applies the queue before the wire: packets lost on the wire still occupy the bottleneck', () => {
    const l = link({ delayMs: 1, rateMbps: 10, queueMs: 5, lossRate: 1 }, 1);
    offer(l, 1_000, 0.1); // ~10x the rate
    expect(l.stats.delivered).toBe(0);
    expect(l.stats.droppedQueue).toBeGreaterThan(800);
    expect(l.stats.droppedLoss + l.stats.droppedQueue).toBe(1_000);
  });
});

describe('Link: blackouts and reconfiguration', () => {
  it('drops everything sent inside a blackout window and nothing outside', () => {
    const l = link({ delayMs: 30, blackouts: [{ fromMs: 100, toMs: 200 }, { fromMs: 500, toMs: 500.5 }] }, 1);
    const v = offer(l, 1_000, 1);
    for (let t = 0; t < 1_000; t++) {
      const dark = (t >= 100 && t < 200) || t === 500;
      expect(v[t] < 0, `t=${t}`).toBe(dark);
    }
    expect(l.stats.droppedBlackout).toBe(101);
  });

  it('takes config changes on the fly, carrying the queue backlog over', () => {
    const l = link({ delayMs: 10, rateMbps: 1 }, 1);
    for (let i = 0; i < 5; i++) l.send(0, 1200);
    const backlog = l.queueDelayMs(0);
    l.setConfig({ blackouts: [{ fromMs: 1, toMs: 2 }] });
    expect(l.queueDelayMs(0)).toBe(backlog);
    expect(l.send(1.5, 1200)).toBe(-1);
    expect(l.send(2, 1200)).toBeGreaterThan(backlog + 10);
    l.setConfig({ blackouts: undefined, delayMs: 0 });
    // Delivery stays monotonic after the delay dropped.
    expect(l.send(3, 1200)).toBeGreaterThan(backlog + 10);
    expect(() => l.setConfig({ lossRate: -0.1 })).toThrow(RangeError);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const cfg: LinkConfig = { delayMs: 40, jitterMs: 5, lossRate: 0.05, burstLoss: { meanLossRate: 0.02, meanBurstLength: 3 } };
    const a = offer(link(cfg, 99), 5_000, 0.3);
    const b = offer(link(cfg, 99), 5_000, 0.3);
    const c = offer(link(cfg, 100), 5_000, 0.3);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('gives each (seed, link index) its own random stream', () => {
    const draw = (seed: number, index: number) => Array.from({ length: 8 }, ((rng) => () => rng.nextU32())(linkRng(seed, index)));
    expect(draw(1, 0)).toEqual(draw(1, 0));
    const streams = new Set([draw(1, 0), draw(1, 1), draw(1, 2), draw(2, 0), draw(2, 1)].map((xs) => xs.join()));
    expect(streams.size).toBe(5);
  });
});
