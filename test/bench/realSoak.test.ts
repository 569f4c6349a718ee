/**
 * The verdicts of bench/realSoak.ts on synthetic streams: what counts as a late chunk, a missing
 * one and a collapse. The soak itself (real relays, timing claims) runs in bench/ only: on a busy
 * 2-core machine its timing is the host's as much as the relays'.
 */
import { describe, expect, it } from 'vitest';
import { bulkBytes, COLLAPSE_SHARE, judgeStream } from '../../bench/realSoak.ts';
import { randomPath } from '../support/randomPaths.ts';

const INTERVAL_MS = 10; // 100 chunks a second
const steady = (seconds: number, delay: number): Array<number | null> => Array.from({ length: seconds * 100 }, () => delay);

describe('realSoak judgeStream', () => {
  it('a steady stream within one-way + 150 ms: nothing late, no collapse, the full rate in every window', () => {
    const j = judgeStream(steady(6, 80), INTERVAL_MS, 50);
    expect(j).toMatchObject({ chunks: 600, delivered: 600, late: 0, firstLate: null, collapse: false });
    expect(j.overOneWayMs).toEqual({ p50: 30, p99: 30, max: 30 });
    expect(j.minWindowShare).toBeGreaterThan(0.97);
  });

  it('the first second is excused: a slow start is neither late nor a collapse', () => {
    const delays = steady(6, 60).map((d, i) => (i < 100 ? 900 - i * 8 : d));
    const j = judgeStream(delays, INTERVAL_MS, 50);
    expect(j.late).toBe(0);
    expect(j.collapse).toBe(false);
  });

  it('delivery at half the rate from 2 s on: a collapse, and late chunks once the backlog passes 150 ms', () => {
    // Chunk i >= 200 arrives at 2060 + (i - 200) * 20 ms: its delay grows by 10 ms a chunk.
    const delays = steady(6, 60).map((d, i) => (i >= 200 ? 2060 + (i - 200) * 20 - i * INTERVAL_MS : d));
    const j = judgeStream(delays, INTERVAL_MS, 50);
    expect(j.collapse).toBe(true);
    expect(j.minWindowShare).toBeCloseTo(0.5, 2);
    expect(j.minWindowAtMs).toBeGreaterThanOrEqual(2000);
    expect(j.firstLate?.index).toBe(215);
    expect(j.firstLate?.overMs).toBeCloseTo(160, 6);
    expect(j.late).toBe(385);
  });

  it('a 1.5 s outage that the next window makes up for is late, not a collapse', () => {
    // Chunks due in [2, 3.5) s all arrive at 3.56 s.
    const delays = steady(6, 60).map((d, i) => (i >= 200 && i < 350 ? 3560 - i * INTERVAL_MS : d));
    const j = judgeStream(delays, INTERVAL_MS, 50);
    expect(j.collapse).toBe(false);
    expect(j.firstLate).toEqual({ index: 200, overMs: 1510 });
    expect(j.late).toBe(136); // more than 150 ms over one-way: those due before 3.36 s
  });

  it('a chunk that never came is late by Infinity, and the maximum says so', () => {
    const delays = steady(6, 60);
    delays[300] = null;
    const j = judgeStream(delays, INTERVAL_MS, 50);
    expect(j.delivered).toBe(599);
    expect(j.firstLate).toEqual({ index: 300, overMs: Infinity });
    expect(j.overOneWayMs.max).toBe(Infinity);
    expect(j.collapse).toBe(false);
  });

  it('a stream shorter than the window is judged over what follows its first second', () => {
    const j = judgeStream(steady(2, 20), INTERVAL_MS, 10);
    expect(j.collapse).toBe(false);
    expect(j.minWindowShare).toBeGreaterThan(0.95);
  });
});

describe('realSoak bulkBytes', () => {
  it('carries the given seconds of capacity (at most 200 Mbit/s of it), 8-128 MiB', () => {
    const MiB = 1024 * 1024;
    for (let seed = 1; seed <= 40; seed++) {
      const path = randomPath(seed);
      const bytes = bulkBytes(path, 6);
      expect(bytes).toBeGreaterThanOrEqual(8 * MiB);
      expect(bytes).toBeLessThanOrEqual(128 * MiB);
      if (path.capacityMbps <= 200 && bytes > 8 * MiB && bytes < 128 * MiB) expect(bytes).toBeCloseTo((path.capacityMbps * 1e6 * 6) / 8, -1);
    }
  });
});
