/**
 * The core's stream probe (session/streamProbe.ts): what bench/delayBreakdown.ts decomposes a
 * live stream's delay from, on real relays and here. Each stage must see each byte as it says:
 * a byte first sent once, arrivals no earlier than the path's delay, reads in order.
 */
import { describe, expect, it } from 'vitest';
import { symmetric } from '../../src/sim/network.ts';
import { StreamStage } from '../../src/session/streamProbe.ts';
import { runCbr } from '../support/cbr.ts';
import type { ProbeCall } from '../support/simStreamTrace.ts';

const CHUNK = 16 * 1024;

/** The ranges of `stage` on `streamId`, in call order, merged where they touch. */
function covered(calls: ProbeCall[], stage: StreamStage, streamId: number): Array<[number, number]> {
  const ranges = calls.filter((c) => c.stage === stage && c.streamId === streamId).map((c): [number, number] => [c.from, c.to]);
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [from, to] of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && from <= last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

describe('stream probe', () => {
  it('a live stream over a lossy 40 ms path: each byte written, first sent exactly once, read in order; every chunk after its path delay, some by FEC', () => {
    const oneWayMs = 20;
    const r = runCbr({
      paths: [symmetric({ delayMs: oneWayMs, rateMbps: 100, queueMs: 30, lossRate: 0.03 })],
      seed: 3,
      rateMbps: 20,
      durationMs: 1200,
      fec: true,
      breakdown: true,
    });
    const b = r.breakdown!;
    const { sender, receiver } = r.probes!;
    const bytes = r.chunksSent * CHUNK;
    expect(r.chunksReceived).toBe(r.chunksSent);
    expect(covered(sender.calls, StreamStage.Written, b.streamId)).toEqual([[0, bytes]]);
    // First sends only: resends of lost data are not "sent" again, so no two ranges overlap.
    const sent = sender.calls.filter((c) => c.stage === StreamStage.Sent && c.streamId === b.streamId).sort((x, y) => x.from - y.from);
    for (let i = 1; i < sent.length; i++) expect(sent[i].from).toBe(sent[i - 1].to);
    expect(covered(sender.calls, StreamStage.Sent, b.streamId)).toEqual([[0, bytes]]);
    const reads = receiver.calls.filter((c) => c.stage === StreamStage.Read && c.streamId === b.streamId);
    reads.forEach((c, i) => expect(c.from).toBe(i === 0 ? 0 : reads[i - 1].to));
    expect(reads[reads.length - 1].to).toBe(bytes);

    expect(b.chunks).toHaveLength(r.chunksSent);
    for (const c of b.chunks) {
      expect(c.parts.sender).toBeGreaterThanOrEqual(0);
      expect(c.parts.flight).toBeGreaterThanOrEqual(oneWayMs);
      expect(c.parts.repair).toBeGreaterThanOrEqual(0);
      // The simulated application reads as soon as the session has bytes.
      expect(c.parts.egress).toBe(0);
    }
    expect(b.chunks.some((c) => c.restored)).toBe(true);
    expect(b.summary.repair.max).toBeGreaterThan(0);
  });

  it('on a clean path nothing waits for a repair and nothing is restored', () => {
    const r = runCbr({ paths: [symmetric({ delayMs: 20, rateMbps: 100, queueMs: 30 })], seed: 4, rateMbps: 20, durationMs: 1000, fec: true, breakdown: true });
    const b = r.breakdown!;
    expect(b.chunks).toHaveLength(r.chunksSent);
    expect(b.summary.repair.max).toBe(0);
    expect(b.chunks.some((c) => c.restored)).toBe(false);
    expect(b.summary.flight.p50).toBeGreaterThanOrEqual(20);
  });
});
