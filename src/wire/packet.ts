/**
 * Packet layer: one UDP datagram is one packet. The first byte is the packet type; Data packets
 * carry AEAD-sealed frames under a 12-byte clear header that is authenticated as associated data.
 *
 * Data packet layout (all big-endian):
 * ```
 * [type u8 = 0x03 | 0x04][pathId u8][sessionId u32][keyPhase 1 bit | packetNumber 47 bits]   clear header, AEAD AAD
 * [ciphertext of the frames ...][tag 16]
 * ```
 * Type 0x04 marks a Data packet that is an FEC source: the receiver's FEC decoder copies its
 * sealed bytes, so it is opened into the opener's scratch buffer and the datagram stays sealed.
 * Every other Data packet is opened where it lies, in the buffer the driver handed over. Either
 * way the receiver copies what it keeps (stream data, FEC symbols) before it returns, so a driver
 * reads every datagram into the same arena: a buffer per datagram cost ~3 µs with the garbage it
 * leaves. The type byte is in the associated data: flipping it fails authentication.
 * The key phase bit says which generation of the sender's key sealed the packet (keyUpdate.ts);
 * the receiver tries the key of that phase, so a key update needs no handshake and no stall.
 * `sessionId` is the receiver's id, so a relay demultiplexes with {@link peekSessionId} before
 * any crypto. Packet numbers are per path (one number space per path, as RFC 9000 §12.3 has per
 * packet number space) and sent in clear: unlike QUIC there is no header protection, since a
 * relay pair has no middleboxes to hide from and the numbers reveal nothing the timing does not.
 *
 * AEAD: ChaCha20-Poly1305 (aead.ts: Node's OpenSSL through the native module, else libsodium,
 * else node:crypto).
 * AES-256-GCM was about 25% faster through node:crypto (9.8 against 13.2 µs a packet, both
 * dominated by per-call cipher setup), but RFC 9001 §6.6 limits it to 2^28 packets of this size
 * per key, about 7 hours at 100 Mbit/s, and a relay's session lives for weeks; through OpenSSL
 * with a context kept per key ChaCha20-Poly1305 costs 1.4 µs. Keys are still updated every few minutes (keyUpdate.ts), so
 * that a key taken from a relay's memory opens only minutes of its traffic. Keys are per
 * direction (see handshake.ts), and the 96-bit nonce is `0^40 || pathId u8 || pn u48`,
 * injective in (pathId, pn), so a nonce never repeats under one key as long as the sender never
 * reuses a packet number on a path. The one limit the sender must respect: packet numbers stay
 * below 2^47 per path ({@link MAX_PACKET_NUMBER}; centuries at any rate a relay sees).
 */
import { createAead, type Aead } from './aead.ts';
import { MAX_U48 } from './bytes.ts';
import { WireError } from './errors.ts';

/** First byte of every datagram. */
export const PacketType = {
  /** Initiator's first handshake message (handshake.ts). */
  HandshakeInit: 0x01,
  /** Responder's handshake answer (handshake.ts). */
  HandshakeResponse: 0x02,
  /** Sealed frames of an established session. */
  Data: 0x03,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

/** First byte of a Data packet that is an FEC source; {@link packetType} reports it as Data. */
const FEC_SOURCE_DATA = 0x04;

/** Clear header of a Data packet: type, pathId, sessionId, packet number. */
export const DATA_HEADER_LEN = 12;
/** Poly1305 authentication tag length. */
export const AEAD_TAG_LEN = 16;
/** Bytes a Data packet adds around its frames: subtract from the datagram size budget. */
export const DATA_OVERHEAD = DATA_HEADER_LEN + AEAD_TAG_LEN;
/** Size of a HandshakeInit datagram: type, sessionId, X25519 public, timestamp u48, random, MAC. */
export const HANDSHAKE_INIT_LEN = 1 + 4 + 32 + 6 + 16 + 16;
/** Size of a HandshakeResponse datagram: type, two sessionIds, X25519 public, MAC. Never larger
 * than the init, so a spoofed init cannot be used for amplification. */
export const HANDSHAKE_RESPONSE_LEN = 1 + 4 + 4 + 32 + 16;
/** Largest packet number: the sender must re-handshake or close before reaching it on a path. */
export const MAX_PACKET_NUMBER = (MAX_U48 - 1) / 2;
/** The key phase bit, in the packet number field's first byte. */
const KEY_PHASE_BIT = 0x80;
const TWO_32 = 2 ** 32;

/**
 * The packet type of a datagram if it is one of ours and has a plausible length for that type
 * (exact length for handshakes, at least {@link DATA_OVERHEAD} for Data), else null. O(1); the
 * first step of the demultiplexer.
 */
export function packetType(datagram: Uint8Array): PacketType | null {
  const len = datagram.length;
  if (len === 0) return null;
  switch (datagram[0]) {
    case PacketType.Data:
    case FEC_SOURCE_DATA:
      return len >= DATA_OVERHEAD ? PacketType.Data : null;
    case PacketType.HandshakeInit:
      return len === HANDSHAKE_INIT_LEN ? PacketType.HandshakeInit : null;
    case PacketType.HandshakeResponse:
      return len === HANDSHAKE_RESPONSE_LEN ? PacketType.HandshakeResponse : null;
    default:
      return null;
  }
}

/**
 * The receiver's session id of a Data packet, or null when the datagram is not a Data packet of
 * at least {@link DATA_OVERHEAD} bytes. O(1), no crypto: use it to pick the session (and its
 * {@link PacketOpener}) for an incoming datagram. The id is unauthenticated until `open` succeeds.
 */
export function peekSessionId(datagram: Uint8Array): number | null {
  if (datagram.length < DATA_OVERHEAD || !isDataType(datagram[0])) return null;
  return (
    ((datagram[2] << 24) | (datagram[3] << 16) | (datagram[4] << 8) | datagram[5]) >>> 0
  );
}

/**
 * The dialer's session id in a HandshakeInit (bytes 1-4, big-endian), the same in the copies it
 * sends on each path; the caller checked the type ({@link packetType}). Unauthenticated.
 */
export function peekInitiatorId(init: Uint8Array): number {
  return ((init[1] << 24) | (init[2] << 16) | (init[3] << 8) | init[4]) >>> 0;
}

/** Whether a Data packet is an FEC source, sealed as such by its sender (unauthenticated until opened). */
export function isFecSource(datagram: Uint8Array): boolean {
  return datagram[0] === FEC_SOURCE_DATA;
}

function isDataType(type: number): boolean {
  return type === PacketType.Data || type === FEC_SOURCE_DATA;
}

/** A successfully authenticated and decrypted Data packet. */
export interface OpenedPacket {
  pathId: number;
  pn: number;
  /**
   * Decrypted frames (decode with `decodeFrames`): a view of the datagram, or for an FEC source
   * of the opener's scratch buffer; valid until the next packet is opened.
   */
  payload: Uint8Array;
}

/** The key phase bit (0 or 1) of a Data packet of at least {@link DATA_HEADER_LEN} bytes. */
export function peekKeyPhase(datagram: Uint8Array): number {
  return datagram[6] >>> 7;
}

function aeadFor(key: Uint8Array): Aead {
  if (key.length !== 32) throw new WireError('bad-length', `AEAD key must be 32 bytes, got ${key.length}`);
  return createAead(key);
}

/** Bytes of each slab a sealer cuts its packets from. */
const SLAB_BYTES = 64 * 1024;

/** Writes the nonce for (pathId, pn) into the reusable 12-byte `nonce` (first 5 bytes stay 0). */
function setNonce(nonce: Uint8Array, pathId: number, pn: number): void {
  nonce[5] = pathId;
  const hi = Math.floor(pn / TWO_32);
  nonce[6] = hi >>> 8;
  nonce[7] = hi;
  nonce[8] = pn >>> 24;
  nonce[9] = pn >>> 16;
  nonce[10] = pn >>> 8;
  nonce[11] = pn;
}

/**
 * Seals Data packets for one direction of one session. Create it once per session key (the key
 * is imported once); then one {@link seal} per outgoing packet.
 */
export class PacketSealer {
  /** Packets sealed so far under this key. */
  sealed = 0;
  private readonly aead: Aead;
  private readonly nonce = new Uint8Array(12);
  /** The clear header of the packet being sealed, as associated data. */
  private readonly header = new Uint8Array(DATA_HEADER_LEN);
  /** Where sealed packets are cut from (see {@link seal}), and how much of it is used. */
  private slab = new Uint8Array(0);
  private slabUsed = 0;

  /**
   * @param key 32-byte sending key (`SessionKeys.sendKey`).
   * @param sessionId the PEER's session id (`SessionKeys.remoteSessionId`), written in every header.
   */
  constructor(
    key: Uint8Array,
    readonly sessionId: number,
    /** Written in every header: which generation of the key this is, modulo 2 (keyUpdate.ts). */
    readonly keyPhase = 0,
  ) {
    if (sessionId >>> 0 !== sessionId) throw new WireError('bad-value', `not a u32: ${sessionId}`);
    this.aead = aeadFor(key);
  }

  /**
   * Returns `header || ciphertext || tag`, `payload.length + DATA_OVERHEAD` bytes, ready to send,
   * typed as an FEC source when `fecSource` (the receiver then keeps its sealed bytes). It is
   * cut from a slab this sealer fills, never written again: an ArrayBuffer per packet (or per
   * six, as Node's 8 KiB Buffer pool gives) costs ~3 µs each with its garbage; a 64 KiB slab is
   * one per ~48 packets. `pn` must never repeat on `pathId` under this key (nonce reuse breaks
   * the AEAD). Cost: one ChaCha20-Poly1305 pass over the payload (~1.4 µs for 1300 bytes,
   * aead.ts) written straight into the output. Throws WireError('bad-value') for a pathId outside
   * u8 or a pn outside [0, 2^47-1].
   */
  seal(pathId: number, pn: number, payload: Uint8Array, fecSource = false): Uint8Array {
    if ((pathId & 0xff) !== pathId) throw new WireError('bad-value', `not a path id: ${pathId}`);
    if (!Number.isInteger(pn) || pn < 0 || pn > MAX_PACKET_NUMBER) {
      throw new WireError('bad-value', `not a packet number: ${pn}`);
    }
    const out = this.take(DATA_HEADER_LEN + payload.length + AEAD_TAG_LEN);
    const h = this.header;
    writeHeader(h, fecSource ? FEC_SOURCE_DATA : PacketType.Data, pathId, this.sessionId, pn, this.keyPhase);
    out.set(h, 0);
    setNonce(this.nonce, pathId, pn);
    this.aead.seal(out.subarray(DATA_HEADER_LEN), payload, h, this.nonce);
    this.sealed++;
    return out;
  }

  private take(length: number): Uint8Array {
    if (this.slab.length - this.slabUsed < length) {
      // Not zeroed: every byte handed out is written before it is.
      this.slab = new Uint8Array(Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, length)).buffer);
      this.slabUsed = 0;
    }
    const out = this.slab.subarray(this.slabUsed, this.slabUsed + length);
    this.slabUsed += length;
    return out;
  }
}

/**
 * Opens Data packets for one direction of one session. Create it once per receiving key; then one
 * {@link open} per incoming Data packet. After a successful open, check the packet number
 * against the path's ReplayWindow (replay.ts) before acting on the payload.
 */
export class PacketOpener {
  private readonly aead: Aead;
  private readonly nonce = new Uint8Array(12);
  /** Where FEC sources are opened; grown to the largest seen, reused for every packet. */
  private scratch = new Uint8Array(0);

  /** @param key 32-byte receiving key (`SessionKeys.recvKey`). */
  constructor(key: Uint8Array) {
    this.aead = aeadFor(key);
  }

  /**
   * Authenticates and decrypts one datagram. Returns null, never throws, when it is not a Data
   * packet, too short, or fails authentication (tampered, wrong key, wrong session): drop it
   * silently. Unless it is an FEC source, the datagram is decrypted in place (its bytes, even on
   * failure, are no longer the sealed packet) and the payload is a view of it; an FEC source,
   * whose sealed bytes the FEC decoder copies after the frames are read, is opened into a scratch
   * buffer that the next FEC source overwrites. Either way, copy what you keep of the payload.
   * Cost: one ChaCha20-Poly1305 pass (~1.4 µs for 1300 bytes, aead.ts).
   */
  open(datagram: Uint8Array): OpenedPacket | null {
    const len = datagram.length;
    if (len < DATA_OVERHEAD || !isDataType(datagram[0])) return null;
    const pathId = datagram[1];
    const pn =
      (((datagram[6] & ~KEY_PHASE_BIT) << 8) | datagram[7]) * TWO_32 +
      (((datagram[8] << 24) | (datagram[9] << 16) | (datagram[10] << 8) | datagram[11]) >>> 0);
    setNonce(this.nonce, pathId, pn);
    const payloadLength = len - DATA_OVERHEAD;
    let payload: Uint8Array;
    if (isFecSource(datagram)) {
      if (this.scratch.length < payloadLength) this.scratch = new Uint8Array(payloadLength);
      payload = this.scratch.subarray(0, payloadLength);
    } else {
      payload = datagram.subarray(DATA_HEADER_LEN, len - AEAD_TAG_LEN);
    }
    const ok = this.aead.open(payload, datagram.subarray(DATA_HEADER_LEN), datagram.subarray(0, DATA_HEADER_LEN), this.nonce);
    return ok ? { pathId, pn, payload } : null;
  }
}

function writeHeader(h: Uint8Array, type: number, pathId: number, sessionId: number, pn: number, keyPhase: number): void {
  h[0] = type;
  h[1] = pathId;
  h[2] = sessionId >>> 24;
  h[3] = sessionId >>> 16;
  h[4] = sessionId >>> 8;
  h[5] = sessionId;
  const hi = Math.floor(pn / TWO_32);
  h[6] = (hi >>> 8) | (keyPhase === 0 ? 0 : KEY_PHASE_BIT);
  h[7] = hi;
  h[8] = pn >>> 24;
  h[9] = pn >>> 16;
  h[10] = pn >>> 8;
  h[11] = pn;
}
