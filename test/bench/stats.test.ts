import { describe, expect, it } from 'vitest';
import { delayCdf, goodputMbps, linkLimitMbps, playoutStalls, quantile, secondHalfMbps, summarizeDelays, wireLossRate } from '../../bench/stats.ts';

describe('bench arithmetic', () => {
  it('goodput is bits over seconds in Mbit/s', () => {
    expect(goodputMbps(12_500_000, 1)).toBe(100);
    expect(goodputMbps(16 * 2 ** 20, 4)).toBeCloseTo(33.554432, 9);
    expect(goodputMbps(1000, 0)).toBe(0);
  });

  it('the link limit is C * (1 - p), summed over paths, with random and burst loss combined', () => {
    expect(linkLimitMbps([{ delayMs: 90, rateMbps: 100, lossRate: 0.03 }])).toBeCloseTo(97, 9);
    expect(wireLossRate({ delayMs: 0, lossRate: 0.1, burstLoss: { meanLossRate: 0.1, meanBurstLength: 3 } })).toBeCloseTo(0.19, 9);
    expect(
      linkLimitMbps([
        { delayMs: 90, rateMbps: 100, lossRate: 0.01 },
        { delayMs: 140, rateMbps: 40, lossRate: 0.01 },
      ]),
    ).toBeCloseTo(138.6, 9);
    expect(linkLimitMbps([{ delayMs: 1 }])).toBe(Infinity);
  });

  it('quantiles use the nearest rank, so p100 is the maximum and an unarrived chunk is Infinity', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.99)).toBe(99);
    expect(quantile(values, 1)).toBe(100);
    expect(quantile(values, 0)).toBe(1);
    expect(quantile([5, Infinity, 1], 0.99)).toBe(Infinity);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('a player stalls once per outage and rebuffers its whole buffer before it resumes', () => {
    // Chunks every 10 ms, a 30 ms buffer (3 chunks). Chunk 2 is 50 ms late and chunk 3 late as
    // well: one stall; the player resumes once chunks 2-4 are in, at the latest arrival (chunk
    // 3 at 30 + 120 = 150), so 150 - (20 + 30) = 100 ms stalled, and chunk 4 onwards is on time.
    expect(playoutStalls([5, 5, 80, 120, 20, 5], 30, 10)).toEqual({ stalls: 1, stalledMs: 100 });
    expect(playoutStalls([10, 20, 30], 100, 10)).toEqual({ stalls: 0, stalledMs: 0 });
    // Two separate outages are two stalls.
    expect(playoutStalls([5, 60, 5, 5, 5, 5, 5, 5, 5, 200, 5, 5], 30, 10).stalls).toBe(2);
    expect(playoutStalls([10, Infinity, 20], 100, 10)).toEqual({ stalls: 1, stalledMs: Infinity });
  });

  it('summarizes delays with missing chunks counted as never delivered', () => {
    const delays = [...Array.from({ length: 98 }, () => 100), 300, null];
    const s = summarizeDelays(delays, 1000, 2);
    expect(s).toEqual({ chunks: 100, delivered: 99, p50: 100, p99: 300, max: Infinity, stalls: 1, stalledMs: Infinity });
  });

  it('the delay CDF rises to the delivered share and is thinned to the point budget', () => {
    const delays = [...Array.from({ length: 1000 }, (_, i) => i + 1), null, null];
    const cdf = delayCdf(delays, 50);
    expect(cdf.length).toBeLessThanOrEqual(51);
    expect(cdf[cdf.length - 1]).toEqual([1000, 1000 / 1002]);
    for (let i = 1; i < cdf.length; i++) {
      expect(cdf[i][0]).toBeGreaterThanOrEqual(cdf[i - 1][0]);
      expect(cdf[i][1]).toBeGreaterThan(cdf[i - 1][1]);
    }
    expect(delayCdf([null, null])).toEqual([]);
  });
});

describe('secondHalfMbps', () => {
  it('measures the rate over the second half of the run from progress samples', () => {
    // 0-1 s: nothing (start-up), then 12.5 MB/s (100 Mbit/s) until 2 s.
    const samples: Array<[number, number]> = [[500, 0], [1000, 0], [1500, 6_250_000]];
    expect(secondHalfMbps(samples, 0, 2000, 12_500_000)).toBeCloseTo(100, 9);
    // Interpolates between samples that straddle the midpoint.
    expect(secondHalfMbps([[900, 0], [1100, 2_500_000]], 0, 2000, 12_500_000)).toBeCloseTo(90, 9);
    expect(secondHalfMbps([], 5, 5, 100)).toBe(0);
  });
});
