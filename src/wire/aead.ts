/**
 * ChaCha20-Poly1305 (RFC 8439, IETF variant: 96-bit nonce, 16-byte tag) for Data packets,
 * writing ciphertext straight into the caller's buffer.
 *
 * Engines, fastest first; all three are the same algorithm, interchangeable on the wire:
 * - OpenSSL, the one inside Node, through the project's native module (`native/aead.c`, built
 *   for linux-x64 and committed) with one cipher context per key: 1.4 us per 1320-byte packet on
 *   the project's 2-core machine, ~0.6 of it the fixed cost of a call.
 * - libsodium through sodium-native, whose npm package ships prebuilt binaries for most platforms:
 *   2.2 us.
 * - node:crypto, where neither loads: 13.2 us (a cipher object per packet, its JS wrapper, and the
 *   garbage both leave).
 * At ~757k packets per GB each way, each microsecond is ~1.5 CPU-seconds per GB for the relay pair.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

/** Poly1305 tag length. */
export const TAG_LEN = 16;
/** ChaCha20-Poly1305 IETF nonce length. */
export const NONCE_LEN = 12;
/** Key length. */
export const KEY_LEN = 32;

/** `native/aead.c`: a context per key and direction, then one call per packet. */
export interface OpenSslNative {
  createContext(key: Uint8Array, forSealing: boolean): unknown;
  seal(context: unknown, out: Uint8Array, plain: Uint8Array, ad: Uint8Array, nonce: Uint8Array): void;
  open(context: unknown, out: Uint8Array, sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array): boolean;
}

interface Sodium {
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number;
}

function loadOpenSsl(): OpenSslNative | null {
  try {
    return createRequire(import.meta.url)(`../../native/aead-${process.platform}-${process.arch}.node`) as OpenSslNative;
  } catch {
    // Not built for this platform (native/build.sh builds it), or a node without OpenSSL.
    return null;
  }
}

function loadSodium(): Sodium | null {
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium;
  } catch {
    return null;
  }
}

const openSsl = loadOpenSsl();
const sodium = loadSodium();

/** Which engine seals and opens in this process. */
export const AEAD_ENGINE: 'openssl' | 'libsodium' | 'node:crypto' = openSsl !== null ? 'openssl' : sodium !== null ? 'libsodium' : 'node:crypto';

/** One direction's key, imported once; seal and open write into buffers the caller owns. */
export interface Aead {
  /**
   * Encrypts `plain` into `out` (exactly `plain.length + TAG_LEN` bytes: ciphertext then tag),
   * authenticating `ad`. `out` must not overlap `plain`.
   */
  seal(out: Uint8Array, plain: Uint8Array, ad: Uint8Array, nonce: Uint8Array): void;
  /**
   * Authenticates and decrypts `sealed` (ciphertext then tag) into `out` (exactly
   * `sealed.length - TAG_LEN` bytes). Returns false, never throws, when authentication fails.
   */
  open(out: Uint8Array, sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array): boolean;
}

/** The fastest available implementation for a 32-byte key. */
export function createAead(key: Uint8Array): Aead {
  checkKey(key);
  if (openSsl !== null) return new OpenSslAead(openSsl, key);
  return sodium !== null ? new SodiumAead(sodium, key) : new NodeCryptoAead(key);
}

/** An engine by name, where it loads (null where not): the fallbacks, for tests that compare them. */
export function createAeadWith(engine: typeof AEAD_ENGINE, key: Uint8Array, native: OpenSslNative | null = openSsl): Aead | null {
  checkKey(key);
  switch (engine) {
    case 'openssl':
      return native === null ? null : new OpenSslAead(native, key);
    case 'libsodium':
      return sodium === null ? null : new SodiumAead(sodium, key);
    case 'node:crypto':
      return new NodeCryptoAead(key);
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_LEN) throw new RangeError(`AEAD key must be ${KEY_LEN} bytes, got ${key.length}`);
}

/**
 * A sealer or an opener uses one direction only: each direction's context is made on first use,
 * the key copied into it once.
 */
class OpenSslAead implements Aead {
  private sealing: unknown = null;
  private opening: unknown = null;
  private readonly key: Uint8Array;

  constructor(
    private readonly lib: OpenSslNative,
    key: Uint8Array,
  ) {
    this.key = Uint8Array.from(key);
  }

  seal(out: Uint8Array, plain: Uint8Array, ad: Uint8Array, nonce: Uint8Array): void {
    this.sealing ??= this.lib.createContext(this.key, true);
    this.lib.seal(this.sealing, out, plain, ad, nonce);
  }

  open(out: Uint8Array, sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array): boolean {
    this.opening ??= this.lib.createContext(this.key, false);
    return this.lib.open(this.opening, out, sealed, ad, nonce);
  }
}

class SodiumAead implements Aead {
  private readonly key: Uint8Array;

  constructor(
    private readonly lib: Sodium,
    key: Uint8Array,
  ) {
    this.key = Uint8Array.from(key);
  }

  seal(out: Uint8Array, plain: Uint8Array, ad: Uint8Array, nonce: Uint8Array): void {
    this.lib.crypto_aead_chacha20poly1305_ietf_encrypt(out, plain, ad, null, nonce, this.key);
  }

  open(out: Uint8Array, sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array): boolean {
    try {
      this.lib.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, ad, nonce, this.key);
      return true;
    } catch {
      return false;
    }
  }
}

const ALGORITHM = 'chacha20-poly1305';

class NodeCryptoAead implements Aead {
  private readonly key: KeyObject;

  constructor(key: Uint8Array) {
    this.key = createSecretKey(key);
  }

  seal(out: Uint8Array, plain: Uint8Array, ad: Uint8Array, nonce: Uint8Array): void {
    const cipher = createCipheriv(ALGORITHM, this.key, nonce, { authTagLength: TAG_LEN });
    cipher.setAAD(ad, { plaintextLength: plain.length });
    // A stream cipher: update() returns every ciphertext byte and final() none.
    out.set(cipher.update(plain), 0);
    cipher.final();
    out.set(cipher.getAuthTag(), plain.length);
  }

  open(out: Uint8Array, sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array): boolean {
    const length = sealed.length - TAG_LEN;
    if (length < 0) return false;
    try {
      const decipher = createDecipheriv(ALGORITHM, this.key, nonce, { authTagLength: TAG_LEN });
      decipher.setAAD(ad, { plaintextLength: length });
      decipher.setAuthTag(sealed.subarray(length));
      out.set(decipher.update(sealed.subarray(0, length)), 0);
      decipher.final();
      return true;
    } catch {
      return false;
    }
  }
}
