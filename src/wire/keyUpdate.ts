/**
 * Key updates in place (in the manner of RFC 9001 §6): each direction's key is replaced every few
 * minutes, or after 2^24 packets, by one derived from it, `next = HKDF-SHA256(ikm = key, salt =
 * '', info = 'bering v1 key update', 32)`, and the old one is forgotten. A key taken from a
 * relay's memory then opens minutes of its traffic, not weeks: the past keys cannot be derived
 * back from it.
 *
 * The two directions update independently, each on its sender's schedule: the sender flips the
 * key phase bit in its headers (packet.ts) and seals with the next key; the receiver, on a packet
 * whose phase is not its current one, opens it with the next key and, if that works, moves on.
 * It keeps the previous key for {@link PREVIOUS_KEY_RETAIN_MS} so that reordered packets and
 * datagrams FEC restores late still open. Updates are at least {@link MIN_UPDATE_GAP_MS} apart,
 * far longer than that, so a phase that is not the current one is the previous key while that is
 * kept, and the next key otherwise: every packet costs one AEAD open, as before, and nothing
 * waits for anything.
 */
import { hkdfSync } from 'node:crypto';
import type { Millis } from '../base/time.ts';
import { PacketOpener, PacketSealer, peekKeyPhase, type OpenedPacket } from './packet.ts';

/** A send key is replaced at least this often. */
export const KEY_UPDATE_INTERVAL_MS = 120_000;
/** ... or once it sealed this many packets (RFC 9001 §6.6 sizes AEAD limits in packets). */
export const KEY_UPDATE_PACKETS = 2 ** 24;
/** How long a receiver keeps the key before the last update, for late packets. */
export const PREVIOUS_KEY_RETAIN_MS = 10_000;
/** Updates of one direction are never closer than this (3x the retention). */
export const MIN_UPDATE_GAP_MS = 3 * PREVIOUS_KEY_RETAIN_MS;

const INFO = Buffer.from('bering v1 key update');
const NO_SALT = Buffer.alloc(0);

/** The key that follows `key` (32 bytes). ~5 µs. */
export function nextKey(key: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', key, NO_SALT, INFO, 32));
}

/**
 * The sending side of one direction: seals with the current key and replaces it on schedule.
 * Call {@link seal} for every packet and {@link handleTimeout} when {@link nextUpdateAt} passes
 * (and whenever convenient: it checks the packet count too).
 */
export class SendKeys {
  private sealer: PacketSealer;
  private key: Uint8Array;
  private installedAt: Millis;
  /** Updates done so far. */
  updates = 0;

  constructor(
    key: Uint8Array,
    sessionId: number,
    now: Millis,
    /** Replace the key at least this often (never more often than {@link MIN_UPDATE_GAP_MS}). */
    private readonly intervalMs: Millis = KEY_UPDATE_INTERVAL_MS,
  ) {
    this.key = key;
    this.sealer = new PacketSealer(key, sessionId, 0);
    this.installedAt = now;
  }

  /** Seals one packet under the current key (see `PacketSealer.seal`). */
  seal(pathId: number, pn: number, payload: Uint8Array, fecSource = false): Uint8Array {
    return this.sealer.seal(pathId, pn, payload, fecSource);
  }

  /** When the current key is due for replacement by age. */
  get nextUpdateAt(): Millis {
    return this.installedAt + Math.max(MIN_UPDATE_GAP_MS, this.intervalMs);
  }

  /** Replaces the key if it is old enough or used enough. Cheap when not. */
  handleTimeout(now: Millis): void {
    const age = now - this.installedAt;
    if (age < MIN_UPDATE_GAP_MS) return;
    if (age < this.intervalMs && this.sealer.sealed < KEY_UPDATE_PACKETS) return;
    this.key = nextKey(this.key);
    this.sealer = new PacketSealer(this.key, this.sealer.sessionId, this.sealer.keyPhase ^ 1);
    this.installedAt = now;
    this.updates++;
  }
}

/**
 * The receiving side of one direction: opens packets with the key of their phase, follows the
 * sender's updates, and drops the previous key {@link PREVIOUS_KEY_RETAIN_MS} after an update.
 */
export class RecvKeys {
  private current: PacketOpener;
  private currentKey: Uint8Array;
  private phase = 0;
  private previous: PacketOpener | null = null;
  private previousUntil: Millis = Infinity;
  /** The opener for the next key, derived on first need. */
  private next: PacketOpener | null = null;
  private nextKeyBytes: Uint8Array | null = null;
  /** Updates followed so far. */
  updates = 0;

  constructor(key: Uint8Array) {
    this.currentKey = key;
    this.current = new PacketOpener(key);
  }

  /**
   * Authenticates and decrypts one datagram (see `PacketOpener.open`), with the current key, or
   * the previous one while kept, or the next one, by its key phase; a packet that opens under
   * the next key makes it current. Null: drop it silently.
   */
  open(datagram: Uint8Array, now: Millis): OpenedPacket | null {
    if (datagram.length < 7 || peekKeyPhase(datagram) === this.phase) return this.current.open(datagram);
    if (this.previous !== null) {
      if (now < this.previousUntil) return this.previous.open(datagram);
      this.previous = null;
    }
    if (this.next === null) {
      this.nextKeyBytes = nextKey(this.currentKey);
      this.next = new PacketOpener(this.nextKeyBytes);
    }
    const packet = this.next.open(datagram);
    if (packet === null) return null;
    this.previous = this.current;
    this.previousUntil = now + PREVIOUS_KEY_RETAIN_MS;
    this.current = this.next;
    this.currentKey = this.nextKeyBytes!;
    this.next = null;
    this.nextKeyBytes = null;
    this.phase ^= 1;
    this.updates++;
    return packet;
  }

  /** When the previous key is dropped (Infinity: none is kept). */
  get nextTimeout(): Millis {
    return this.previous === null ? Infinity : this.previousUntil;
  }

  /** Drops the previous key once its time is up. */
  handleTimeout(now: Millis): void {
    if (this.previous !== null && now >= this.previousUntil) {
      this.previous = null;
      this.previousUntil = Infinity;
    }
  }
}
