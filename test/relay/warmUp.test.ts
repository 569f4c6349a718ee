/**
 * The relay's start-up warm-up: an in-memory session pair that must really carry its streams both
 * ways (a warm-up that stalls would warm nothing), and that gives way to the first real stream.
 */
import { describe, expect, it } from 'vitest';
import { loadFec } from '../../src/fec/index.ts';
import { WARM_UP_BYTES, WarmUp, warmUpInBackground } from '../../src/relay/warmUp.ts';

const fec = loadFec();

describe('warm-up', () => {
  it('carries its bytes both ways to the end, a slice at a time', () => {
    const warm = new WarmUp(fec);
    let clock = 0;
    let steps = 0;
    // A clock that advances a millisecond per reading: every slice ends after a few ticks.
    while (!warm.done && steps < 1_000_000) {
      warm.step(() => clock++, 4);
      steps++;
    }
    expect(warm.done).toBe(true);
    expect(warm.delivered).toBeGreaterThanOrEqual(2 * WARM_UP_BYTES);
    expect(steps).toBeGreaterThan(100);
  });

  it('stops at the first real stream', async () => {
    let busy = false;
    const finished = warmUpInBackground(fec, () => busy);
    await new Promise((r) => setTimeout(r, 30));
    busy = true;
    const delivered = await finished;
    expect(delivered).toBeLessThan(2 * WARM_UP_BYTES);
  });
});
