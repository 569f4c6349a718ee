/**
 * Where a path's packets go, and when that may change (RFC 9000 §8.2 and §9). The driver tells
 * the core where each datagram came from; the core alone decides where the path's packets go.
 *
 * Any authentic packet used to move a path to its source address. An observer who copies packets
 * off the wire and re-sends them from its own address ahead of the originals (easy across an
 * ocean) thus drew the relay's traffic to itself. Now:
 * - only a packet newer than any before on the path may propose a new address (a candidate);
 * - the candidate is probed only once the current address has stayed silent long enough that
 *   the originals of raced copies would have arrived: a NAT rebinding moves every packet of the
 *   peer, so the old address goes silent, while a racing replay is followed by its original from
 *   the old address (a duplicate, still proof the peer is there), which drops the candidate
 *   before a byte went to it. A copy cannot lead its original by more than the path's one-way
 *   delay, so the spell is {@link quickSpellMs} (5/8 of the smoothed RTT) once the candidate sent
 *   {@link QUICK_AFTER_PACKETS} new packets; all their originals lost is the only way a racer
 *   gets through it. A candidate with fewer (a lone ACK after a pause, whose original may be the
 *   one lost) waits a probe timeout instead, and the session pings the current address at once
 *   ({@link onAuthentic} says when): a peer still there answers from there within that time.
 * - the path moves only when the candidate echoes a PATH_CHALLENGE sent to it, and until then
 *   at most three times the bytes received from the candidate are sent to it (§8.1).
 * A rebinding under traffic thus moves the path within 5/8 of an RTT plus one round trip.
 */
import type { RttEstimator } from './ack/rttEstimator.ts';
import type { Millis } from '../base/time.ts';
import { PATH_FRAME_LEN } from '../wire/frames.ts';
import { DATA_OVERHEAD } from '../wire/packet.ts';

/**
 * A datagram's source as the driver sees it: equal addresses are equal in `address` and `port`
 * (a Node `dgram` rinfo fits as it is). The core never interprets them, only compares.
 */
export interface PeerAddress {
  readonly address: string;
  readonly port: number;
}

/** Bytes an unvalidated address may be sent per byte received from it (RFC 9000 §8.1). */
export const AMPLIFICATION_FACTOR = 3;
/** Largest packet sent to an unvalidated address: a PATH_RESPONSE and a PATH_CHALLENGE. */
export const MIGRATION_PROBE_MAX_BYTES = DATA_OVERHEAD + 2 * PATH_FRAME_LEN;
/** Floor of the silence asked of the current address before a candidate is probed. */
const MIN_QUIET_MS = 20;
/** New packets from a candidate after which the short spell applies. */
export const QUICK_AFTER_PACKETS = 3;
/** PATH_CHALLENGEs sent to a candidate before it is given up. */
const MAX_CHALLENGES = 3;
/** Floor of the wait for a PATH_RESPONSE before a challenge is re-sent. */
const MIN_CHALLENGE_WAIT_MS = 50;

function sameAddress(a: PeerAddress, aLocal: number, b: PeerAddress, bLocal: number): boolean {
  return a.port === b.port && aLocal === bLocal && a.address === b.address;
}

/**
 * How long the current address must stay silent before a candidate that sent
 * {@link QUICK_AFTER_PACKETS} new packets is probed: longer than a raced copy can lead its
 * original (the one-way delay), for a path of this smoothed RTT.
 */
export function quickSpellMs(srtt: Millis): Millis {
  return Math.max(MIN_QUIET_MS, (srtt * 5) / 8);
}

/**
 * One path's peer address and its migration, sans-IO. `local` tells apart the driver's sockets
 * (the same remote reaching a second local socket is another 4-tuple). The session calls
 * {@link onAuthentic} for every authentic packet, duplicates included, {@link handleTimeout} from
 * its timer, and sends a challenge to {@link candidate} while {@link probing}.
 */
export class PathMigration {
  constructor(
    /** The path's RTT: it sizes the spells. */
    private readonly rtt: RttEstimator,
    private readonly maxAckDelayMs: Millis,
  ) {}

  /** Where the path's packets go; null until its first authentic packet (or for a driver without addresses). */
  current: PeerAddress | null = null;
  currentLocal = 0;
  candidate: PeerAddress | null = null;
  candidateLocal = 0;
  /** A challenge to the candidate is out (or due): the path carries nothing else meanwhile. */
  probing = false;
  /** The driver gives sources: the path has somewhere to send only once an address is proven. */
  private addressed = false;
  /**
   * The candidate is probed if the current address stays silent until {@link quickAt} (once it
   * sent {@link QUICK_AFTER_PACKETS} new packets) or {@link answerAt}.
   */
  private quickAt: Millis = Infinity;
  private answerAt: Millis = Infinity;
  private candidatePackets = 0;
  /** Bytes of new authentic packets from the candidate, and bytes sent to it. */
  private bytesIn = 0;
  private bytesOut = 0;
  /** The 8 bytes the candidate must echo, when the next challenge is due, and how many were sent. */
  challenge: Uint8Array | null = null;
  challengeDueAt: Millis = Infinity;
  private challenges = 0;
  /** Times the path moved, for tests and metrics. */
  moves = 0;
  /** An address already proven (the handshake's source): a path's first packet from it needs no challenge. */
  private trusted: PeerAddress | null = null;
  private trustedLocal = 0;

  /** The handshake was answered to `from`; a first packet from there is the peer. */
  trust(from: PeerAddress, local: number): void {
    this.trusted = from;
    this.trustedLocal = local;
  }

  /**
   * An authentic packet arrived from `from`. `newest`: its packet number is above every other
   * seen on the path (duplicates and reordered packets are not). `currentFailed`: the path went
   * silent at its current address (it is down). No-op without an address.
   *
   * A path's first address is validated like any other, unless it is where the handshake came
   * from ({@link trust}): a racer whose copy of the path's first packet got there first is only
   * probed, and when it cannot answer, the next packet from elsewhere (duplicates included)
   * proposes the peer's real address. Once a path went silent at its current address, that
   * address no longer vouches for anything either, and any authentic packet from elsewhere may
   * propose a new one at once.
   *
   * True when a candidate was just proposed while the current address may still be there: the
   * session then sends the current address something that draws an answer (a PING).
   */
  onAuthentic(now: Millis, from: PeerAddress | undefined, local: number, newest: boolean, length: number, currentFailed: boolean): boolean {
    if (from === undefined) return false;
    this.addressed = true;
    const current = this.current;
    if (current === null && this.trusted !== null && sameAddress(this.trusted, this.trustedLocal, from, local)) {
      this.abandon();
      this.current = from;
      this.currentLocal = local;
      return false;
    }
    // Nothing vouches for an address the path has not proven, or one where it went silent.
    const open = current === null || currentFailed;
    if (current !== null && sameAddress(current, this.currentLocal, from, local)) {
      // The peer is still where it was: whatever proposed itself was not the peer moving.
      if (this.candidate !== null && !open) this.abandon();
      return false;
    }
    if (this.candidate !== null && sameAddress(this.candidate, this.candidateLocal, from, local)) {
      if (newest || open) {
        this.bytesIn += length;
        this.candidatePackets++;
      }
      return false;
    }
    if ((!newest && !open) || this.probing) return false;
    this.candidate = from;
    this.candidateLocal = local;
    this.bytesIn = length;
    this.bytesOut = 0;
    this.candidatePackets = 1;
    this.quickAt = open ? now : now + quickSpellMs(this.rtt.smoothed);
    this.answerAt = open ? now : now + this.rtt.pto(this.maxAckDelayMs);
    return !open;
  }

  /** When {@link handleTimeout} has something to do. */
  nextTimeout(): Millis {
    if (this.probing) return this.challengeDueAt;
    return this.candidatePackets >= QUICK_AFTER_PACKETS ? this.quickAt : this.answerAt;
  }

  /**
   * Starts probing a candidate whose old address stayed silent, or gives up one that did not
   * answer, or one the amplification limit leaves no challenge for (else the path would carry
   * nothing until the candidate spoke again).
   */
  handleTimeout(now: Millis): void {
    if (!this.probing) {
      if (this.candidate === null || now < this.nextTimeout()) return;
      this.probing = true;
      this.quickAt = Infinity;
      this.answerAt = Infinity;
      this.challengeDueAt = now;
      this.challenges = 0;
      return;
    }
    if (now >= this.challengeDueAt && (this.challenges >= MAX_CHALLENGES || !this.canAffordChallenge())) this.abandon();
  }

  /**
   * The path may carry nothing but the challenge: one is out, or no address is proven yet (a
   * candidate that never answered was given up, and the next packet proposes another).
   */
  get holdsTraffic(): boolean {
    return this.probing || (this.addressed && this.current === null);
  }

  /** Where the path's packets go now: the candidate while it is probed, else the current address. */
  get target(): PeerAddress | null {
    return this.probing ? this.candidate : this.current;
  }

  get targetLocal(): number {
    return this.probing ? this.candidateLocal : this.currentLocal;
  }

  /** Whether a challenge packet may go to the candidate now. */
  canChallenge(now: Millis): boolean {
    return this.probing && now >= this.challengeDueAt && this.challenges < MAX_CHALLENGES && this.canAffordChallenge();
  }

  private canAffordChallenge(): boolean {
    return this.bytesOut + MIGRATION_PROBE_MAX_BYTES <= AMPLIFICATION_FACTOR * this.bytesIn;
  }

  /** A challenge of `size` bytes went to the candidate; the next is due after `pto`. */
  onChallengeSent(now: Millis, data: Uint8Array, size: number, pto: Millis): void {
    this.challenge = data;
    this.challenges++;
    this.bytesOut += size;
    this.challengeDueAt = now + Math.max(MIN_CHALLENGE_WAIT_MS, pto);
  }

  /** A PATH_RESPONSE arrived: true if it answered our challenge, and the path moved (or got its first address). */
  onResponse(data: Uint8Array): boolean {
    const expected = this.challenge;
    if (!this.probing || expected === null) return false;
    for (let i = 0; i < expected.length; i++) if (expected[i] !== data[i]) return false;
    if (this.current !== null) this.moves++;
    this.current = this.candidate;
    this.currentLocal = this.candidateLocal;
    this.abandon();
    return true;
  }

  private abandon(): void {
    this.candidate = null;
    this.probing = false;
    this.challenge = null;
    this.challengeDueAt = Infinity;
    this.quickAt = Infinity;
    this.answerAt = Infinity;
    this.candidatePackets = 0;
    this.bytesIn = 0;
    this.bytesOut = 0;
  }
}
