/**
 * A listener that is one of several worker threads' (`--workers`) hands out only session ids of
 * its own residue, so whoever reads the shared sockets routes each Data packet by its clear id.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng, type Rng } from '../../src/base/rng.ts';
import { Listener, shardOfSessionId } from '../../src/session/listener.ts';
import { Session } from '../../src/session/session.ts';
import { peekSessionId } from '../../src/wire/packet.ts';
import { WALL_EPOCH } from '../support/simNodes.ts';

const psk = new Uint8Array(32).fill(3);

/** A seeded rng whose first ids are the extremes of the 32-bit range. */
function edgeRng(seed: number): Rng {
  const inner = new SeededRng(seed);
  const firsts = [0xffffffff, 0, 0xfffffffe];
  return { next: () => inner.next(), fill: (out) => inner.fill(out), nextU32: () => firsts.shift() ?? inner.nextU32() };
}

describe('Listener session ids of one shard', () => {
  it.each([
    [1, 0],
    [3, 2],
    [3, 0],
    [7, 5],
  ])('of %i shards, shard %i: every accepted session, and the packets it is sent, carry an id of that residue', (shards, shard) => {
    const listener = new Listener({ psk, rng: edgeRng(shards * 10 + shard), sessionIds: { shards, shard }, maxSessions: 100 });
    for (let i = 0; i < 40; i++) {
      const dialer = Session.dial({ now: 0, wallNow: WALL_EPOCH + i, psk, pathIds: [0], rng: new SeededRng(100 + i) });
      const r = listener.handleDatagram(0, WALL_EPOCH + i, dialer.pollTransmit(0)!.bytes);
      expect(r.kind).toBe('accepted');
      if (r.kind !== 'accepted') return;
      expect(r.session.id).toBeLessThanOrEqual(0xffffffff);
      expect(shardOfSessionId(r.session.id, shards)).toBe(shard);
      // The dialer learns the id from the reply and stamps its Data packets with it.
      expect(dialer.handleDatagram(0, 0, r.reply)).toBe('accepted');
      dialer.openStream();
      const sent = dialer.pollTransmit(0);
      expect(sent).not.toBeNull();
      expect(peekSessionId(sent!.bytes)).toBe(r.session.id);
    }
    expect(listener.sessionCount).toBe(40);
  });
});
