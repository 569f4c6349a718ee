import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AEAD_ENGINE, createAead, createNodeCryptoAead, TAG_LEN } from '../../src/wire/aead.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

// RFC 8439 §2.8.2: the AEAD_CHACHA20_POLY1305 test vector.
const KEY = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
const NONCE = hex('070000004041424344454647');
const AD = hex('50515253c0c1c2c3c4c5c6c7');
const PLAIN = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const CIPHER_START = hex('d31a8d34648e60db7b86afbc53ef7ec2');
const TAG = hex('1ae10b594f09e26a7e902ecbd0600691');

describe('AEAD (ChaCha20-Poly1305)', () => {
  it('uses libsodium on this platform', () => {
    expect(AEAD_ENGINE).toBe('libsodium');
  });

  for (const [name, make] of [
    ['fastest engine', createAead],
    ['node:crypto', createNodeCryptoAead],
  ] as const) {
    it(`${name} matches RFC 8439's test vector and opens it again`, () => {
      const aead = make(KEY);
      const sealed = new Uint8Array(PLAIN.length + TAG_LEN);
      aead.seal(sealed, PLAIN, AD, NONCE);
      expect(sealed.subarray(0, 16)).toEqual(CIPHER_START);
      expect(sealed.subarray(PLAIN.length)).toEqual(TAG);
      const opened = new Uint8Array(PLAIN.length);
      expect(aead.open(opened, sealed, AD, NONCE)).toBe(true);
      expect(opened).toEqual(PLAIN);
    });

    it(`${name} rejects a flipped bit anywhere, a wrong AD and a wrong nonce`, () => {
      const aead = make(KEY);
      const sealed = new Uint8Array(PLAIN.length + TAG_LEN);
      aead.seal(sealed, PLAIN, AD, NONCE);
      const out = new Uint8Array(PLAIN.length);
      for (const at of [0, 57, PLAIN.length - 1, PLAIN.length, sealed.length - 1]) {
        const bad = sealed.slice();
        bad[at] ^= 0x01;
        expect(aead.open(out, bad, AD, NONCE)).toBe(false);
      }
      const badAd = AD.slice();
      badAd[3] ^= 0x80;
      expect(aead.open(out, sealed, badAd, NONCE)).toBe(false);
      const badNonce = NONCE.slice();
      badNonce[11] ^= 0x01;
      expect(aead.open(out, sealed, AD, badNonce)).toBe(false);
    });
  }

  it('libsodium and node:crypto open each other’s packets', () => {
    const key = randomBytes(32);
    const fast = createAead(key);
    const reference = createNodeCryptoAead(key);
    for (const size of [0, 1, 63, 64, 65, 1322]) {
      const plain = randomBytes(size);
      const nonce = randomBytes(12);
      const ad = randomBytes(12);
      for (const [from, to] of [
        [fast, reference],
        [reference, fast],
      ]) {
        const sealed = new Uint8Array(size + TAG_LEN);
        from.seal(sealed, plain, ad, nonce);
        const opened = new Uint8Array(size);
        expect(to.open(opened, sealed, ad, nonce)).toBe(true);
        expect(Buffer.from(opened).equals(plain)).toBe(true);
      }
    }
  });

  it('refuses a key of the wrong length', () => {
    expect(() => createAead(new Uint8Array(16))).toThrow(RangeError);
  });
});
