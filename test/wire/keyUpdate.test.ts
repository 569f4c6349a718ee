import { describe, expect, it } from 'vitest';
import { KEY_UPDATE_INTERVAL_MS, MIN_UPDATE_GAP_MS, nextKey, PREVIOUS_KEY_RETAIN_MS, RecvKeys, SendKeys } from '../../src/wire/keyUpdate.ts';
import { peekKeyPhase } from '../../src/wire/packet.ts';

const KEY = new Uint8Array(32).fill(9);
const SID = 0x01020304;

describe('key updates', () => {
  it('the sender updates on age only, flips the phase bit, and the receiver follows without a miss', () => {
    const send = new SendKeys(KEY, SID, 0);
    const recv = new RecvKeys(KEY);
    let pn = 0;
    const payload = new Uint8Array([1, 2, 3]);
    for (let t = 0; t <= 5 * KEY_UPDATE_INTERVAL_MS; t += 1000) {
      send.handleTimeout(t);
      const p = send.seal(0, pn++, payload);
      expect(peekKeyPhase(p)).toBe(send.updates & 1);
      const opened = recv.open(p, t);
      expect(opened?.pn).toBe(pn - 1);
      recv.handleTimeout(t);
    }
    expect(send.updates).toBe(5);
    expect(recv.updates).toBe(5);
  });

  it('opens late packets of the previous phase while the old key is kept, and not after', () => {
    const send = new SendKeys(KEY, SID, 0);
    const recv = new RecvKeys(KEY);
    const old = [send.seal(0, 0, new Uint8Array(1)), send.seal(0, 1, new Uint8Array(1))];
    send.handleTimeout(KEY_UPDATE_INTERVAL_MS);
    const t = KEY_UPDATE_INTERVAL_MS;
    expect(recv.open(send.seal(0, 2, new Uint8Array(1)), t)).not.toBeNull();
    expect(recv.open(old[0], t + PREVIOUS_KEY_RETAIN_MS - 1)?.pn).toBe(0);
    recv.handleTimeout(t + PREVIOUS_KEY_RETAIN_MS);
    expect(recv.nextTimeout).toBe(Infinity);
    expect(recv.open(old[1], t + PREVIOUS_KEY_RETAIN_MS)).toBeNull();
    expect(recv.updates).toBe(1);
  });

  it('never updates twice within the minimum gap, and a forged flipped phase moves nothing', () => {
    const send = new SendKeys(KEY, SID, 0);
    send.handleTimeout(MIN_UPDATE_GAP_MS - 1);
    expect(send.updates).toBe(0);
    const recv = new RecvKeys(KEY);
    const forged = send.seal(0, 5, new Uint8Array(4));
    forged[6] |= 0x80;
    expect(recv.open(forged, 0)).toBeNull();
    expect(recv.updates).toBe(0);
    expect(recv.open(send.seal(0, 6, new Uint8Array(4)), 0)).not.toBeNull();
  });

  it('derives a different key each generation, the same on both sides', () => {
    const k1 = nextKey(KEY);
    expect(k1).not.toEqual(KEY);
    expect(nextKey(KEY)).toEqual(k1);
    expect(nextKey(k1)).not.toEqual(k1);
  });
});
