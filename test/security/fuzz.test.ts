/**
 * The short fuzz run (the long one is `bench/fuzz.ts --count 1000000`). A failure names its seed;
 * `FUZZ_SEED=n npx vitest run test/security/fuzz.test.ts` replays that run exactly.
 */
import { describe, expect, it } from 'vitest';
import { floodHandshakes, fuzzDatagrams, fuzzFrames } from './fuzzer.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);

describe(`fuzzing (seed ${SEED})`, () => {
  it('drops every stranger datagram without a word, keeps memory flat and the live session byte-exact', () => {
    const r = fuzzDatagrams({ seed: SEED, count: 50_000 });
    const why = `seed ${SEED}: ${JSON.stringify({ ...r, escaped: r.escaped.slice(0, 2) })}`;
    expect(r.escaped, why).toEqual([]);
    // In sans-IO terms nothing was sent to the fuzzer: no handshake was answered, no datagram
    // reached a session, and at the quiet instant no end wanted to send or moved its timer.
    expect(r.answered, why).toBe(0);
    expect(r.stirred, why).toBe(0);
    expect(r.listenerStats.handshakes, why).toBe(1);
    expect(r.corrupt, why).toBeNull();
    expect(r.streamsCompleted, why).toBeGreaterThan(4);
    for (const kind of ['random', 'typed-random', 'bit-flip', 'truncate-extend', 'header-garbage', 'oversized', 'replay', 'other-key', 'handshake']) {
      expect(r.byKind[kind], `${why}: no ${kind} inputs`).toBeGreaterThan(500);
    }
    // 40,000 datagrams at the quiet instant must not leave anything behind.
    expect(r.heapAfter - r.heapBefore, why).toBeLessThan(1 << 20);
  });

  it('never lets an exception escape a session fed sealed garbage frames by a key holder', () => {
    const r = fuzzFrames({ seed: SEED, count: 10_000 });
    expect(r.escaped, `seed ${SEED}`).toEqual([]);
    expect(r.packets).toBe(10_000);
  });

  it('refuses a flood of forged, replayed, other-key and stale handshakes without a session or an answer', () => {
    const r = floodHandshakes({ seed: SEED, count: 50_000 });
    expect(r.answered).toBe(0);
    expect(r.extraSessions).toBe(0);
    expect(r.listenerStats).toMatchObject({
      handshakes: 1,
      authFailures: 25_000,
      handshakeAuthFailures: 25_000,
      // The genuine init sent again is a copy of the live session's (as on a second path); stale ones are replays.
      handshakeCopies: 12_500,
      replays: 12_500,
      staleHandshakes: 12_500,
      sessionsRefused: 0,
      handshakesRateLimited: 0,
    });
  });
});
