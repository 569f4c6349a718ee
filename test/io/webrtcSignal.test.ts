import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_CLOCK_SKEW_MS, NonceCache, openAnswer, openOffer, sealAnswer, sealOffer, signallingKey } from '../../src/io/webrtcSignal.ts';

const key = signallingKey(randomBytes(32));
const NOW = 1_700_000_000_000;
const bytes = (s: string): Buffer => Buffer.from(s);

describe('WebRTC signalling authentication', () => {
  it('opens an offer sealed with the same key, once', () => {
    const seen = new NonceCache();
    const o = sealOffer(key, 'v=0 offer', NOW);
    expect(openOffer(key, bytes(o.body), o.auth, NOW + 1000, seen)).toEqual({ nonce: o.nonce, sdp: 'v=0 offer' });
    // The same request again is a replay.
    expect(openOffer(key, bytes(o.body), o.auth, NOW + 2000, seen)).toBeNull();
  });

  it('refuses another key, a missing or altered MAC, an altered body', () => {
    const seen = new NonceCache();
    const o = sealOffer(key, 'v=0 offer', NOW);
    const other = sealOffer(signallingKey(randomBytes(32)), 'v=0 offer', NOW);
    expect(openOffer(key, bytes(other.body), other.auth, NOW, seen)).toBeNull();
    expect(openOffer(key, bytes(o.body), undefined, NOW, seen)).toBeNull();
    expect(openOffer(key, bytes(o.body), o.auth.slice(1), NOW, seen)).toBeNull();
    expect(openOffer(key, bytes(o.body.replace('offer', 'offeR')), o.auth, NOW, seen)).toBeNull();
    // None of those used up the nonce.
    expect(openOffer(key, bytes(o.body), o.auth, NOW, seen)).not.toBeNull();
  });

  it('refuses offers from outside the clock window', () => {
    const seen = new NonceCache();
    const old = sealOffer(key, 'sdp', NOW - MAX_CLOCK_SKEW_MS - 1);
    const future = sealOffer(key, 'sdp', NOW + MAX_CLOCK_SKEW_MS + 1);
    expect(openOffer(key, bytes(old.body), old.auth, NOW, seen)).toBeNull();
    expect(openOffer(key, bytes(future.body), future.auth, NOW, seen)).toBeNull();
  });

  it('forgets nonces only once their offers are too old to pass anyway', () => {
    const seen = new NonceCache();
    expect(seen.add('a', NOW)).toBe(true);
    expect(seen.add('a', NOW + 2 * MAX_CLOCK_SKEW_MS - 1)).toBe(false);
    expect(seen.add('a', NOW + 2 * MAX_CLOCK_SKEW_MS + 1)).toBe(true);
  });

  it('binds the answer to the offer and to the key, and never takes an offer for an answer', () => {
    const o = sealOffer(key, 'offer sdp', NOW);
    const a = sealAnswer(key, o.nonce, 'answer sdp');
    expect(openAnswer(key, bytes(a.body), a.auth, o.nonce)).toBe('answer sdp');
    expect(openAnswer(key, bytes(a.body), a.auth, sealOffer(key, 'x', NOW).nonce)).toBeNull();
    expect(openAnswer(signallingKey(randomBytes(32)), bytes(a.body), a.auth, o.nonce)).toBeNull();
    // A body of the answer's shape MACed under the offer label (what an offer relayed back
    // would carry) is no answer.
    const mirrored = JSON.stringify({ nonce: o.nonce, sdp: 'evil' });
    expect(openAnswer(key, bytes(mirrored), offerMac(mirrored), o.nonce)).toBeNull();
    expect(openOffer(key, bytes(a.body), a.auth, NOW, new NonceCache())).toBeNull();
  });

  it('refuses authentic bodies of the wrong shape without throwing', () => {
    const seen = new NonceCache();
    for (const body of ['not json', '[]', 'null', '{"ts":"1","nonce":"00","sdp":"x"}', `{"ts":${NOW},"nonce":"xyz","sdp":"x"}`, `{"ts":${NOW},"nonce":"${'0'.repeat(32)}"}`]) {
      expect(openOffer(key, bytes(body), offerMac(body), NOW, seen)).toBeNull();
    }
  });
});

/** The MAC an offer with exactly `body` carries (sealOffer only seals bodies it builds itself). */
function offerMac(body: string): string {
  return createHmac('sha256', key).update('offer\n').update(body).digest('base64url');
}
