/**
 * The short soak (the 30-minute one is `bench/soak.ts`): half a minute of virtual time with
 * stream churn, loss, bursts, dark paths and injected datagrams. At every quiet point the
 * sessions and the listener must hold no more state and heap than at the quiet points before.
 */
import { expect, it } from 'vitest';
import { growth, overCaps, soak } from './soak.ts';

it('holds state and heap flat through stream churn, loss and dark paths', () => {
  const r = soak({ seed: 11, durationMs: 30_000, segmentMs: 5_000, rateScale: 0.25 });
  expect(r.problem).toBeNull();
  expect(r.quiet.length).toBeGreaterThanOrEqual(4);
  expect(r.injectedAccepted).toBe(0);
  const last = r.quiet[r.quiet.length - 1];
  expect(last.streamsCompleted).toBeGreaterThan(100);
  expect(last.listenerSessions).toBe(1);
  // Quiet means quiet: nothing of a finished stream is left anywhere.
  expect(last.census['session.streams.map']).toBe(0);
  expect(last.census['session.streams.sendQueue'] + last.census['session.streams.retransmitQueue']).toBe(0);
  expect(last.census['session.fecEncoder.openGroups'] + last.census['session.fecEncoder.repairQueue']).toBe(0);
  expect(growth(r.quiet, { entries: 16, bytes: 64 * 1024 })).toEqual([]);
  expect([overCaps(r.peakLive), ...r.quiet.map((q) => overCaps(q.census))].flat()).toEqual([]);
  const heaps = r.quiet.slice(1).map((q) => q.heapBytes);
  expect(heaps[heaps.length - 1]).toBeLessThan(Math.max(...heaps.slice(0, -1)) + (1 << 20));
});
