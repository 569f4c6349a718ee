/**
 * The handshake: one round trip of ephemeral X25519 (RFC 7748) authenticated by the pre-shared
 * key, deriving one AEAD key per direction with HKDF-SHA256 (RFC 5869). Forward secrecy comes
 * from the ephemerals: the PSK authenticates but never encrypts.
 *
 * ```
 * HandshakeInit (75 bytes)      [0x01][initiator sessionId u32][X25519 public 32]
 *                               [unix ms timestamp u48][random 16][MAC 16]
 *   MAC = HMAC-SHA256(macKey, all preceding bytes)[0..16]
 * HandshakeResponse (57 bytes)  [0x02][initiator sessionId u32][responder sessionId u32]
 *                               [X25519 public 32][MAC 16]
 *   MAC = HMAC-SHA256(macKey, init || all preceding response bytes)[0..16]
 * macKey = HKDF-SHA256(ikm = psk, salt = '', info = 'bering v1 mac', 32)
 * keys   = HKDF-SHA256(ikm = X25519(eph_i, eph_r), salt = psk,
 *                      info = 'bering v1 keys' || init || response, 64)
 *          = initiator->responder key (32) || responder->initiator key (32)
 * ```
 * The responder checks the MAC before any public-key work, rejects timestamps more than
 * `maxSkewMs` from its wall clock, and remembers accepted inits so a replay gets no answer: to
 * anyone without the PSK the port looks closed. The response is smaller than the init, so a
 * spoofed source address cannot be used for amplification. Identity hiding is not a goal: both
 * ends hold the same PSK.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';
import type { Rng } from '../base/rng.ts';
import type { UnixMillis } from '../base/time.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import { WireError } from './errors.ts';
import { HANDSHAKE_INIT_LEN, HANDSHAKE_RESPONSE_LEN, PacketType, packetType } from './packet.ts';

/** Length of the pre-shared key (`bering keygen` prints it base64). */
export const PSK_LEN = 32;
/** Truncated HMAC-SHA256 length of both handshake messages. */
export const HANDSHAKE_MAC_LEN = 16;
/** Default accepted distance between an init's timestamp and the responder's wall clock. */
export const DEFAULT_MAX_SKEW_MS = 60_000;
/** Default cap on remembered inits; when full, new inits are refused rather than memory grown. */
export const DEFAULT_MAX_REMEMBERED = 100_000;

const INIT_MACED_LEN = HANDSHAKE_INIT_LEN - HANDSHAKE_MAC_LEN;
const RESPONSE_MACED_LEN = HANDSHAKE_RESPONSE_LEN - HANDSHAKE_MAC_LEN;
/** Offsets inside the init. */
const INIT_PUBLIC_AT = 5;
const INIT_TIMESTAMP_AT = 37;
const MAC_INFO = Buffer.from('bering v1 mac');
const KEYS_INFO = Buffer.from('bering v1 keys');
/** DER prefixes that wrap a raw 32-byte X25519 key (RFC 8410) for node:crypto. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** Keys of an established session, one AEAD key per direction. */
export interface SessionKeys {
  /** Key for `PacketSealer`. */
  sendKey: Uint8Array;
  /** Key for `PacketOpener`. */
  recvKey: Uint8Array;
  /** Our session id: the peer writes it into every Data packet it sends us. */
  localSessionId: number;
  /** The peer's session id: `PacketSealer` writes it into every Data packet we send. */
  remoteSessionId: number;
}

/** Keys derived from the PSK alone; derive once per PSK. */
export interface PskKeys {
  /** HMAC-SHA256 key authenticating handshake messages. */
  macKey: Uint8Array;
}

/**
 * Derives the handshake MAC key from the PSK (HKDF-SHA256, info 'bering v1 mac'). A few µs; the
 * responder does it once at construction, each initiator once. Throws WireError('bad-length')
 * unless the PSK is {@link PSK_LEN} bytes.
 */
export function derivePskKeys(psk: Uint8Array): PskKeys {
  if (psk.length !== PSK_LEN) throw new WireError('bad-length', `PSK must be ${PSK_LEN} bytes`);
  return { macKey: new Uint8Array(hkdfSync('sha256', psk, new Uint8Array(0), MAC_INFO, 32)) };
}

/** True when the datagram has the type and exact length of a HandshakeInit. O(1). */
export function isHandshakeInit(datagram: Uint8Array): boolean {
  return packetType(datagram) === PacketType.HandshakeInit;
}

/** True when the datagram has the type and exact length of a HandshakeResponse. O(1). */
export function isHandshakeResponse(datagram: Uint8Array): boolean {
  return packetType(datagram) === PacketType.HandshakeResponse;
}

function mac(key: KeyObject, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, HANDSHAKE_MAC_LEN);
}

/** An X25519 key pair from 32 random bytes (clamped by the implementation, RFC 7748 §5). */
function ephemeral(rng: Rng): { privateKey: KeyObject; publicBytes: Uint8Array } {
  const der = Buffer.alloc(PKCS8_X25519_PREFIX.length + 32);
  der.set(PKCS8_X25519_PREFIX);
  rng.fill(der.subarray(PKCS8_X25519_PREFIX.length));
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  der.fill(0);
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicBytes: spki.subarray(SPKI_X25519_PREFIX.length) };
}

/** X25519 with the peer's raw public key; null for a low-order key (all-zero shared secret). */
function sharedSecret(privateKey: KeyObject, peerPublic: Uint8Array): Buffer | null {
  try {
    const publicKey = createPublicKey({
      key: Buffer.concat([SPKI_X25519_PREFIX, peerPublic]),
      format: 'der',
      type: 'spki',
    });
    return diffieHellman({ privateKey, publicKey });
  } catch {
    return null;
  }
}

/** 64 bytes: initiator->responder key || responder->initiator key. */
function sessionKeyMaterial(
  shared: Uint8Array,
  psk: Uint8Array,
  init: Uint8Array,
  response: Uint8Array,
): { i2r: Uint8Array; r2i: Uint8Array } {
  const okm = hkdfSync('sha256', shared, psk, Buffer.concat([KEYS_INFO, init, response]), 64);
  return { i2r: new Uint8Array(okm, 0, 32), r2i: new Uint8Array(okm, 32, 32) };
}

/**
 * The dialing side of one handshake attempt. Construct it (which builds {@link packet}), send
 * `packet` on one or more paths, and feed every HandshakeResponse to {@link accept}. To retry
 * after a timeout, build a NEW initiator: the responder treats a resent packet as a replay and
 * stays silent. Keep the previous attempt around for a while too, as its response may still be
 * on the way. Cost: one X25519 key generation (~0.2 ms) at construction.
 */
export class HandshakeInitiator {
  /** The HandshakeInit datagram ({@link HANDSHAKE_INIT_LEN} bytes). */
  readonly packet: Uint8Array;
  private readonly psk: Uint8Array;
  private readonly macKey: KeyObject;
  private privateKey: KeyObject | null;

  /**
   * @param psk the 32-byte pre-shared key.
   * @param localSessionId our session id (u32), chosen unique among our sessions.
   * @param rng source of the ephemeral key and the init's random bytes (a CSPRNG in production).
   * @param wallNow Unix time in ms, within the responder's skew of its clock.
   */
  constructor(
    psk: Uint8Array,
    readonly localSessionId: number,
    rng: Rng,
    wallNow: UnixMillis,
  ) {
    this.psk = psk;
    this.macKey = createSecretKey(derivePskKeys(psk).macKey);
    const { privateKey, publicBytes } = ephemeral(rng);
    this.privateKey = privateKey;
    const packet = Buffer.alloc(HANDSHAKE_INIT_LEN);
    const w = new ByteWriter(packet);
    w.u8(PacketType.HandshakeInit);
    w.u32(localSessionId);
    w.bytes(publicBytes);
    w.u48(Math.floor(wallNow));
    const random = new Uint8Array(16);
    rng.fill(random);
    w.bytes(random);
    w.bytes(mac(this.macKey, packet.subarray(0, INIT_MACED_LEN)));
    this.packet = packet;
  }

  /**
   * Checks a HandshakeResponse and derives the session keys. Returns null (drop it) when it is
   * malformed, answers another init, or fails the MAC, and for every call after the first
   * success (the ephemeral private key is dropped then, for forward secrecy). Never throws.
   * Cost: one HMAC for a forgery; one X25519 and one HKDF (~0.1 ms) for a genuine response.
   */
  accept(response: Uint8Array): SessionKeys | null {
    const privateKey = this.privateKey;
    if (privateKey === null || !isHandshakeResponse(response)) return null;
    const r = new ByteReader(response, 1);
    if (r.u32() !== this.localSessionId) return null;
    const remoteSessionId = r.u32();
    const expected = mac(this.macKey, this.packet, response.subarray(0, RESPONSE_MACED_LEN));
    if (!timingSafeEqual(expected, response.subarray(RESPONSE_MACED_LEN))) return null;
    const shared = sharedSecret(privateKey, r.bytes(32));
    if (shared === null) return null;
    const { i2r, r2i } = sessionKeyMaterial(shared, this.psk, this.packet, response);
    shared.fill(0);
    this.privateKey = null;
    return { sendKey: i2r, recvKey: r2i, localSessionId: this.localSessionId, remoteSessionId };
  }
}

/**
 * How long before a responder's start an init may have been sent and still be a redial in
 * flight across that start (a path's delay plus a retry), rather than a recording replayed.
 */
const IN_FLIGHT_ACROSS_START_MS = 3000;

/** Counters of {@link HandshakeResponder.respond} outcomes, for metrics. */
export interface HandshakeStats {
  /** Inits answered. */
  accepted: number;
  /** Inits with a wrong MAC: scanners, garbage or a wrong PSK. */
  badMac: number;
  /** Authentic inits whose timestamp is outside ±maxSkewMs (clock skew, or an old replay). */
  stale: number;
  /**
   * Authentic inits sent in the few seconds before this responder came to be (`notBefore`):
   * a peer's redial in flight across our restart, refused like any older init but no attack.
   */
  predatesStart: number;
  /** Authentic inits already answered. */
  replayed: number;
  /** Wrong length or type, or an authentic init carrying an unusable X25519 key. */
  malformed: number;
  /** Authentic inits refused because the replay memory was full. */
  overloaded: number;
  /** Authentic fresh inits the caller's `admit` turned away (rate or session limits). */
  refused: number;
}

export interface HandshakeResponderOptions {
  /** Accepted |init timestamp - wallNow|, default {@link DEFAULT_MAX_SKEW_MS}. */
  maxSkewMs?: number;
  /** Cap on remembered inits, default {@link DEFAULT_MAX_REMEMBERED} (~10 MB at worst). */
  maxRemembered?: number;
  /**
   * Unix ms before which no init is fresh: when this responder (its replay memory) came to be.
   * A restarted relay remembers no init from its previous life, so without this it would answer
   * one recorded in the minute before the restart. The cost: a peer whose clock runs behind
   * ours waits that much after our start before its inits are taken.
   */
  notBefore?: UnixMillis;
}

/** What the responder sends back and the session it establishes. */
export interface HandshakeAccepted {
  /** The HandshakeResponse datagram, to send back to the init's source address. */
  response: Uint8Array;
  keys: SessionKeys;
  initiatorSessionId: number;
}

/**
 * The listening side: one per relay (per PSK), fed every HandshakeInit that arrives. It keeps
 * the replay memory: MACs of accepted inits for 2 × maxSkewMs of wall time, pruned on each call
 * in O(1) amortized, capped at `maxRemembered` entries.
 */
export class HandshakeResponder {
  readonly stats: HandshakeStats = {
    accepted: 0,
    badMac: 0,
    stale: 0,
    predatesStart: 0,
    replayed: 0,
    malformed: 0,
    overloaded: 0,
    refused: 0,
  };
  private readonly psk: Uint8Array;
  private readonly macKey: KeyObject;
  private readonly maxSkewMs: number;
  private readonly maxRemembered: number;
  private readonly notBefore: UnixMillis;
  /** Init MAC (latin1 string) -> wall time after which a replay of it would be stale anyway. */
  private readonly seen = new Map<string, UnixMillis>();

  constructor(psk: Uint8Array, opts: HandshakeResponderOptions = {}) {
    this.psk = psk;
    this.macKey = createSecretKey(derivePskKeys(psk).macKey);
    this.maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
    this.maxRemembered = opts.maxRemembered ?? DEFAULT_MAX_REMEMBERED;
    this.notBefore = opts.notBefore ?? -Infinity;
  }

  /**
   * Answers a HandshakeInit, or returns null (send nothing) when it is malformed, fails the MAC,
   * is stale, is a replay, or the replay memory is full; each outcome is counted in
   * {@link stats}. Never throws for any datagram. Checks run cheapest first: length, MAC (one
   * HMAC, ~2 µs), clock, replay memory; only an authentic fresh init costs X25519 key generation,
   * one X25519 and HKDF (~0.5 ms). `localSessionId` is the id this side allocates for the new session; a value that
   * is not a u32 is a caller bug and throws WireError('bad-value').
   *
   * `admit`, when given, is asked only for an authentic, fresh init, right before the key
   * exchange: returning false refuses it (counted as `refused`, not remembered, so the initiator's
   * next attempt is judged afresh). This is where a caller's rate and session limits belong: they
   * then spend their budget on peers holding the PSK, never on forgeries or replays.
   */
  respond(
    wallNow: UnixMillis,
    init: Uint8Array,
    localSessionId: number,
    rng: Rng,
    admit?: () => boolean,
  ): HandshakeAccepted | null {
    if (localSessionId >>> 0 !== localSessionId) {
      throw new WireError('bad-value', `not a session id: ${localSessionId}`);
    }
    const stats = this.stats;
    if (!isHandshakeInit(init)) {
      stats.malformed++;
      return null;
    }
    const initMac = init.subarray(INIT_MACED_LEN);
    if (!timingSafeEqual(mac(this.macKey, init.subarray(0, INIT_MACED_LEN)), initMac)) {
      stats.badMac++;
      return null;
    }
    const r = new ByteReader(init, 1);
    const initiatorSessionId = r.u32();
    r.pos = INIT_TIMESTAMP_AT;
    const sentAt = r.u48();
    const skewed = Math.abs(sentAt - wallNow) > this.maxSkewMs;
    if (skewed || sentAt < this.notBefore) {
      if (!skewed && this.notBefore - sentAt <= IN_FLIGHT_ACROSS_START_MS) stats.predatesStart++;
      else stats.stale++;
      return null;
    }
    this.prune(wallNow);
    const seenKey = Buffer.from(initMac.buffer, initMac.byteOffset, initMac.length).toString('latin1');
    if (this.seen.has(seenKey)) {
      stats.replayed++;
      return null;
    }
    if (this.seen.size >= this.maxRemembered) {
      stats.overloaded++;
      return null;
    }
    if (admit !== undefined && !admit()) {
      stats.refused++;
      return null;
    }
    const { privateKey, publicBytes } = ephemeral(rng);
    const shared = sharedSecret(privateKey, init.subarray(INIT_PUBLIC_AT, INIT_PUBLIC_AT + 32));
    if (shared === null) {
      stats.malformed++;
      return null;
    }
    const response = Buffer.alloc(HANDSHAKE_RESPONSE_LEN);
    const w = new ByteWriter(response);
    w.u8(PacketType.HandshakeResponse);
    w.u32(initiatorSessionId);
    w.u32(localSessionId);
    w.bytes(publicBytes);
    w.bytes(mac(this.macKey, init, response.subarray(0, RESPONSE_MACED_LEN)));
    const { i2r, r2i } = sessionKeyMaterial(shared, this.psk, init, response);
    shared.fill(0);
    this.seen.set(seenKey, wallNow + 2 * this.maxSkewMs);
    stats.accepted++;
    return {
      response,
      keys: { sendKey: r2i, recvKey: i2r, localSessionId, remoteSessionId: initiatorSessionId },
      initiatorSessionId,
    };
  }

  /** Number of inits currently remembered for replay detection. */
  get remembered(): number {
    return this.seen.size;
  }

  /**
   * Forgets entries whose time has passed. Entries are inserted in wall-clock order, so pruning
   * stops at the first live one; if the wall clock steps back, entries only live longer.
   */
  private prune(wallNow: UnixMillis): void {
    for (const [key, expiry] of this.seen) {
      if (expiry > wallNow) break;
      this.seen.delete(key);
    }
  }
}
