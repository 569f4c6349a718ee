/**
 * Path migration under attack, on the simulator (RFC 9000 §8-9): an observer copies every packet
 * the dialer sends and races the copy to the listener from its own address, ahead of the
 * original, while also sending garbage, bit-flipped and late copies. None of it may draw a byte
 * of the listener's traffic, slow the transfer or corrupt it; a real NAT rebinding still moves
 * the path.
 */
import { describe, expect, it } from 'vitest';
import { raceRun, type RaceOptions } from './replayRace.ts';

/** The short run: 6 MB down a 40 Mbit/s trans-Pacific path with 3% loss, one raced copy per packet. */
const run = (opts: Partial<RaceOptions> = {}) => raceRun({ seed: 1409, downBytes: 6_000_000, rateMbps: 40, lossRate: 0.03, ...opts });

describe('path migration', () => {
  const clean = run();

  it('carries the clean transfer intact', () => {
    expect(clean.problem).toBeNull();
    expect(clean.bytesVerified).toBe(clean.bytesExpected);
  });

  it('sends nothing to an observer racing copies of the dialer packets from its own address', () => {
    const r = run({ raceFrom: 500 });
    expect(r.problem).toBeNull();
    expect(r.bytesVerified).toBe(clean.bytesVerified);
    // Thousands of raced copies, each authentic and newer than anything before on the path.
    expect(r.injected).toBeGreaterThan(2000);
    expect(r.toAttacker).toEqual({ packets: 0, bytes: 0 });
    // Goodput at least 90% of the clean run's.
    expect(clean.finishedAt / r.finishedAt).toBeGreaterThanOrEqual(0.9);
  });

  it('recovers the path from an observer who raced its very first packet', () => {
    const r = run({ raceFrom: 0 });
    expect(r.problem).toBeNull();
    expect(r.bytesVerified).toBe(clean.bytesVerified);
    // The copy was the path's first packet from an address the handshake did not come from: it
    // is only challenged (within 3x what it sent), and the original from the handshake's address wins.
    expect(r.toAttacker.bytes).toBeLessThan(3 * 1350);
    expect(r.finishedAt).toBeLessThan(clean.finishedAt + 2000);
  });

  it('follows a NAT rebinding within a probe timeout plus the challenge\'s round trip of the first packet from the new port', () => {
    const r = run({ rebindAt: 1500 });
    expect(r.problem).toBeNull();
    expect(r.bytesVerified).toBe(clean.bytesVerified);
    expect(r.firstFromNewAt).not.toBeNull();
    expect(r.movedAt).not.toBeNull();
    // The relay's packets go to the old port until the move, so the peer falls silent but for a
    // packet or two: the candidate waits a probe timeout (not the short spell it would get after
    // three new packets), then the challenge's round trip (180 ms). Measured: 330 ms.
    expect(r.movedAt! - r.firstFromNewAt!).toBeLessThan(2.5 * 180);
    expect(r.movedAt! - r.firstFromNewAt!).toBeGreaterThanOrEqual(180);
  });
});
