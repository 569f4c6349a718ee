import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildNativeModule } from '../support/nativeBuild.ts';
import { AEAD_ENGINE, type Aead, createAead, createAeadWith, type OpenSslNative, TAG_LEN } from '../../src/wire/aead.ts';

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

const ENGINES = ['openssl', 'libsodium', 'node:crypto'] as const;
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';

/** The RFC vector, a tampered copy of it, and a wrong AD and nonce, through `make`'s engine. */
function checkEngine(make: (key: Uint8Array) => Aead): void {
  const aead = make(KEY);
  const sealed = new Uint8Array(PLAIN.length + TAG_LEN);
  aead.seal(sealed, PLAIN, AD, NONCE);
  expect(sealed.subarray(0, 16)).toEqual(CIPHER_START);
  expect(sealed.subarray(PLAIN.length)).toEqual(TAG);
  const opened = new Uint8Array(PLAIN.length);
  expect(aead.open(opened, sealed, AD, NONCE)).toBe(true);
  expect(opened).toEqual(PLAIN);
  // Opened where it lies, as a received datagram is.
  const inPlace = sealed.slice();
  expect(aead.open(inPlace.subarray(0, PLAIN.length), inPlace, AD, NONCE)).toBe(true);
  expect(inPlace.subarray(0, PLAIN.length)).toEqual(PLAIN);
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
  // A sealed packet too short to hold a tag is refused, not read out of bounds.
  expect(aead.open(new Uint8Array(0), sealed.subarray(0, TAG_LEN - 1), AD, NONCE)).toBe(false);
}

describe('AEAD (ChaCha20-Poly1305)', () => {
  it.runIf(onLinuxX64)('uses OpenSSL through the committed native module on linux-x64', () => {
    expect(AEAD_ENGINE).toBe('openssl');
  });

  for (const engine of ENGINES) {
    it(`${engine} matches RFC 8439's test vector, opens it again (in place too) and rejects any change`, () => {
      const aead = createAeadWith(engine, KEY);
      if (aead === null) return; // not on this platform: the fallbacks' own cases cover it
      checkEngine((key) => createAeadWith(engine, key)!);
    });
  }

  it('every engine opens every other engine’s packets, at any length', () => {
    const key = randomBytes(32);
    const engines = ENGINES.map((e) => createAeadWith(e, key)).filter((a): a is Aead => a !== null);
    expect(engines.length).toBeGreaterThanOrEqual(onLinuxX64 ? 3 : 1);
    for (const size of [0, 1, 63, 64, 65, 1322]) {
      const plain = randomBytes(size);
      const nonce = randomBytes(12);
      const ad = randomBytes(12);
      for (const from of engines) {
        const sealed = new Uint8Array(size + TAG_LEN);
        from.seal(sealed, plain, ad, nonce);
        for (const to of engines) {
          const opened = new Uint8Array(size);
          expect(to.open(opened, sealed, ad, nonce)).toBe(true);
          expect(Buffer.from(opened).equals(plain)).toBe(true);
        }
      }
    }
  });

  it('refuses a key of the wrong length', () => {
    expect(() => createAead(new Uint8Array(16))).toThrow(RangeError);
  });

  it.runIf(onLinuxX64)('native/build.sh builds an OpenSSL module that meets the RFC vector', () => {
    const rebuilt = buildNativeModule<OpenSslNative>('aead');
    if (rebuilt === null) return;
    checkEngine((key) => createAeadWith('openssl', key, rebuilt)!);
  });
});
