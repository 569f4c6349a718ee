import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/base/rng.ts';
import { DialerHandshake } from '../../src/session/dialerHandshake.ts';
import type { Transmit } from '../../src/session/api.ts';
import { HandshakeInitiator, HandshakeResponder } from '../../src/wire/handshake.ts';

const PSK = new Uint8Array(32).fill(3);
const WALL = 1_800_000_000_000;
const CONFIG = { handshakeRetryMs: 400, handshakeTimeoutMs: 10_000 };

function drain(h: DialerHandshake, now: number): Transmit[] {
  const out: Transmit[] = [];
  for (let t = h.poll(now); t !== null; t = h.poll(now)) out.push(t);
  return out;
}

describe('DialerHandshake', () => {
  it('sends one init on every path at once, then waits for the retry', () => {
    const h = new DialerHandshake(PSK, 7, new SeededRng(1), CONFIG, [0, 2, 5], 100, WALL);
    const sent = drain(h, 100);
    expect(sent.map((t) => t.pathId)).toEqual([0, 2, 5]);
    expect(new Set(sent.map((t) => t.bytes)).size).toBe(1);
    expect(h.retryAt).toBe(500);
    expect(h.timeoutAt).toBe(10_100);
    expect(drain(h, 499)).toEqual([]);
  });

  it('retries with fresh inits, backing off 1x, 2x, 4x, then every 4x', () => {
    const h = new DialerHandshake(PSK, 7, new SeededRng(1), CONFIG, [0], 0, WALL);
    const inits: Uint8Array[] = [];
    const retries: number[] = [];
    for (let i = 0; i < 5; i++) {
      const at = h.retryAt;
      inits.push(...drain(h, at).map((t) => t.bytes));
      retries.push(h.retryAt - at);
    }
    expect(retries).toEqual([400, 800, 1600, 1600, 1600]);
    expect(new Set(inits.map((b) => Buffer.from(b).toString('hex'))).size).toBe(5);
  });

  it('accepts the answer to any of its last four inits, with the RTT from when that init left', () => {
    const rng = new SeededRng(2);
    const responder = new HandshakeResponder(PSK);
    const h = new DialerHandshake(PSK, 7, new SeededRng(1), CONFIG, [0], 0, WALL);
    const inits = [];
    for (let i = 0; i < 5; i++) inits.push({ at: h.retryAt, bytes: drain(h, h.retryAt)[0].bytes });
    // The first init is no longer kept; the second still is.
    const tooOld = responder.respond(WALL + inits[0].at, inits[0].bytes, 99, rng)!;
    expect(h.accept(9000, tooOld.response)).toBeNull();
    const answer = responder.respond(WALL + inits[1].at, inits[1].bytes, 42, rng)!;
    const accepted = h.accept(9000, answer.response)!;
    expect(accepted.rtt).toBe(9000 - inits[1].at);
    expect(accepted.keys.remoteSessionId).toBe(42);
    expect(accepted.keys.localSessionId).toBe(7);
    expect(accepted.keys.sendKey).toEqual(answer.keys.recvKey);
  });

  it("refuses an answer to someone else's init", () => {
    const h = new DialerHandshake(PSK, 7, new SeededRng(1), CONFIG, [0], 0, WALL);
    drain(h, 0);
    const other = new HandshakeInitiator(PSK, 8, new SeededRng(5), WALL);
    const answer = new HandshakeResponder(PSK).respond(WALL, other.packet, 42, new SeededRng(3))!;
    expect(other.accept(answer.response)).not.toBeNull();
    expect(h.accept(50, answer.response)).toBeNull();
  });
});
