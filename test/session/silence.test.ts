import { describe, expect, it } from 'vitest';
import { symmetric } from '../../src/sim/network.ts';
import { runBulk } from '../support/bulk.ts';
import { bulkBytesAt, randomPath } from '../support/randomPaths.ts';
import { longestStall } from '../support/tunnelPair.ts';

const MiB = 1024 * 1024;

describe('a path that goes silent', () => {
  it('ACKs dark for 1.5 s on a 2 ms path: the transfer resumes within 50 ms of their return, not after a backed-off probe timeout', () => {
    const darkFrom = 2000;
    const darkTo = 3500;
    const r = runBulk({
      paths: [symmetric({ delayMs: 1, rateMbps: 50, queueMs: 20 })],
      seed: 3,
      bytes: 40 * MiB,
      limitMs: 30_000,
      setup: (net) => net.links[0].bToA.setConfig({ blackouts: [{ fromMs: darkFrom, toMs: darkTo }] }),
    });
    expect(r.corruptAt).toBe(-1);
    expect(r.delivered).toBe(40 * MiB);
    // The data direction stayed open: what was in flight arrived before the window closed.
    expect(longestStall(r.progress, 1000)).toBeLessThanOrEqual(darkTo - darkFrom + 50);
  });

  it('a long burst of lost ACKs on a per-packet loss chain does not close the session (random path, seed 701)', () => {
    // 2 ms, 22 Mbit/s, 4.8% loss in bursts of 7 packets, 10 ms jitter. With the probe timeout
    // backed off, the stalled sender elicited ~25 ACKs in 8 s, all lost, and the session closed.
    const path = randomPath(701);
    const bytes = bulkBytesAt(path.capacityMbps, 10);
    const r = runBulk({ paths: path.paths, seed: 701, bytes, limitMs: 60_000, fec: true });
    expect(r.senderStats.paths[0].state).toBe('up');
    expect(r.corruptAt).toBe(-1);
    expect(r.fin).toBe(true);
    expect(r.delivered).toBe(bytes);
  });
});
