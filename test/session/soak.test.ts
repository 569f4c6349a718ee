/**
 * A short run of bench/simSoak.ts: seeded random paths (RTT 1-300 ms, 10-1000 Mbit/s or
 * uncapped, queues of 5-200 ms, random or bursty loss up to 10%, jitter with and without
 * reordering, one or two paths) on modelled hosts. Every chunk of a live stream arrives within
 * the path's one-way delay plus 150 ms after the first second, and bulk arrives intact. Two seeds,
 * one each way; the distribution over a thousand is the bench's.
 */
import { describe, expect, it } from 'vitest';
import { describeOutcome, soakOne, STREAM_EXCESS_MS } from '../support/randomPaths.ts';

describe('random paths (short soak)', () => {
  for (const seed of [1, 2]) {
    it(`seed ${seed}: the stream keeps its rate and every chunk is within one-way + ${STREAM_EXCESS_MS} ms; bulk intact`, () => {
      const o = soakOne(seed, { streamMs: 4000, bulkSeconds: 3, reverse: seed % 2 === 0 });
      const context = describeOutcome(o);
      expect(o.intact, context).toBe(true);
      expect(o.chunksReceived, context).toBe(o.chunksSent);
      expect(o.streamExcessMs, context).toBeLessThanOrEqual(STREAM_EXCESS_MS);
    });
  }
});
