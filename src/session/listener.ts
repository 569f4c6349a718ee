import type { PathId } from './api.ts';
import { resolveSessionConfig, type SessionConfig } from './config.ts';
import type { Rng } from '../base/rng.ts';
import type { ReedSolomon } from '../fec/index.ts';
import type { PeerAddress } from './pathValidation.ts';
import { Session } from './session.ts';
import type { Millis, UnixMillis } from '../base/time.ts';
import { HandshakeResponder } from '../wire/handshake.ts';
import { DATA_HEADER_LEN, PacketType, packetType, peekInitiatorId, peekSessionId } from '../wire/packet.ts';
import type { StreamProbe } from './streamProbe.ts';

/** What became of one datagram given to {@link Listener.handleDatagram}. */
export type ListenerResult =
  /** Unauthenticated, replayed, stale or garbage: counted, never answered. */
  | { kind: 'drop' }
  /**
   * A new session from a handshake: send `reply` to the datagram's source. The session learns
   * its paths from the dialer's first data packets on each, reported as 'routed'.
   */
  | { kind: 'accepted'; session: Session; reply: Uint8Array }
  /** An authenticated datagram of an existing session; its path's packets go to `session.pathAddress(pathId)`. */
  | { kind: 'routed'; session: Session; pathId: PathId };

export interface ListenerStats {
  /** Datagrams that failed authentication or made no sense (scanners, garbage, other keys). */
  authFailures: number;
  /** Of those, well-formed handshakes whose MAC failed: a peer holding another key, most likely. */
  handshakeAuthFailures: number;
  /**
   * Data packets for a session id this listener does not know: a peer still talking to a session
   * of an earlier run of this relay (a restart), or junk. Not counted in `authFailures`.
   */
  unknownSessionPackets: number;
  handshakes: number;
  /** Handshakes refused as replays or with a stale timestamp. */
  replays: number;
  /** Of those, authentic handshakes whose timestamp was too far from this relay's clock. */
  staleHandshakes: number;
  /**
   * Authentic handshakes sent in the seconds before this relay started: a peer's redial in flight
   * across our restart. Refused (its next attempt is answered) but neither a replay nor skew.
   */
  handshakesBeforeStart: number;
  /**
   * Copies of an accepted handshake arriving on the dialer's other paths (it sends one init on
   * every path): not replays, and not counted in `replays`.
   */
  handshakeCopies: number;
  /** Authentic handshakes refused because `maxSessions` were live. */
  sessionsRefused: number;
  /** Authentic handshakes refused by the `handshakeRate` limit. */
  handshakesRateLimited: number;
  /** Authentic data packets seen twice (late originals of FEC-restored packets, or replays). */
  duplicates: number;
}

/** Live sessions a listener accepts at most unless told otherwise. */
export const DEFAULT_MAX_SESSIONS = 256;

/** One of `shards` listeners sharing a set of sockets; see the Listener's `sessionIds` option. */
export interface SessionIdShard {
  shards: number;
  /** 0 .. shards - 1. */
  shard: number;
}

/** The shard that handed out `sessionId` (a Data packet's clear receiver id), of `shards`. */
export function shardOfSessionId(sessionId: number, shards: number): number {
  return sessionId % shards;
}

/** A token bucket on the handshakes that reach the X25519 key exchange. */
export interface HandshakeRateLimit {
  /** Sustained handshakes per second. */
  perSecond: number;
  /** How many may come at once after a quiet spell (the bucket's depth). */
  burst: number;
}

/**
 * A legitimate entry relay handshakes once per session, and a few times a second while it checks
 * whether its peer restarted; this leaves room for dozens of relays and caps the key-exchange CPU
 * a misbehaving PSK holder can cost at ~20 ms per second.
 */
export const DEFAULT_HANDSHAKE_RATE: Readonly<HandshakeRateLimit> = { perSecond: 20, burst: 40 };

/** Continuous-refill token bucket on the driver's monotonic clock; O(1), no timers. */
class TokenBucket {
  private tokens: number;
  private last = -Infinity;

  constructor(private readonly limit: HandshakeRateLimit) {
    this.tokens = limit.burst;
  }

  take(now: Millis): boolean {
    if (now > this.last) {
      if (this.last !== -Infinity) this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.last) * this.limit.perSecond) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

const DROP: ListenerResult = { kind: 'drop' };

/** Every listener counter at zero. */
export function emptyListenerStats(): ListenerStats {
  return {
    authFailures: 0,
    handshakeAuthFailures: 0,
    unknownSessionPackets: 0,
    handshakes: 0,
    replays: 0,
    staleHandshakes: 0,
    handshakesBeforeStart: 0,
    handshakeCopies: 0,
    sessionsRefused: 0,
    handshakesRateLimited: 0,
    duplicates: 0,
  };
}

/**
 * The listener side's demultiplexer, sans-IO: answers authenticated handshakes with a new
 * {@link Session} and routes data packets to their session by the session id in the clear header.
 * Strangers get nothing back: every failure is a silent, counted drop, and the only answer ever
 * sent (a HandshakeResponse) is smaller than the init it answers, so a spoofed source cannot be
 * used for amplification.
 *
 * Cost of what a stranger can send: garbage and data packets for unknown sessions, a map lookup;
 * a forged init, one HMAC; a replayed init, one HMAC and a map lookup; a forged data packet for a
 * live session id, one failed AEAD (ChaCha20-Poly1305) open. Only an authentic fresh init (PSK holders only) costs a
 * key exchange, and those are capped by `maxSessions` and the `handshakeRate` token bucket.
 */
export class Listener {
  private readonly responder: HandshakeResponder;
  private readonly sessions = new Map<number, Session>();
  /** Live sessions by the dialer's session id, to tell a copy of their init from a replay. */
  private readonly byInitiator = new Map<number, Session>();
  private readonly config: SessionConfig;
  private readonly maxSessions: number;
  private readonly handshakeBucket: TokenBucket;
  readonly stats: ListenerStats = emptyListenerStats();

  constructor(
    private readonly opts: {
      psk: Uint8Array;
      rng: Rng;
      config?: Partial<SessionConfig>;
      /** Live sessions at most (default 256); further authentic handshakes are refused. */
      maxSessions?: number;
      /** Cap on handshakes reaching the key exchange; default {@link DEFAULT_HANDSHAKE_RATE}. */
      handshakeRate?: HandshakeRateLimit;
      /** Reed-Solomon engine for forward error correction (`loadFec()`); none: ARQ only. */
      fec?: ReedSolomon;
      /**
       * Wall-clock Unix ms this listener started: inits stamped earlier are refused (they can
       * only be replays recorded before a restart, which the fresh replay memory cannot know).
       */
      startedAt?: UnixMillis;
      /** Watches stream bytes of every session accepted (a delay breakdown); none by default. */
      probe?: StreamProbe;
      /**
       * This listener's share of the session id space when several split one set of sockets
       * (worker threads): every id it hands out is `shard` modulo `shards`, so whoever reads the
       * sockets routes a Data packet by its clear session id alone. Default: all ids.
       */
      sessionIds?: SessionIdShard;
    },
  ) {
    this.responder = new HandshakeResponder(opts.psk, { notBefore: opts.startedAt });
    this.config = resolveSessionConfig(opts.config);
    this.maxSessions = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.handshakeBucket = new TokenBucket(opts.handshakeRate ?? DEFAULT_HANDSHAKE_RATE);
  }

  /** Live sessions (closed ones stay until {@link forget}). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  allSessions(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /**
   * Feeds a datagram that arrived on any listening socket, from `from` on the driver's socket
   * number `local` (see `Session.handleDatagram`, which also says who owns `bytes` then). Never
   * throws on bad input.
   */
  handleDatagram(now: Millis, wallNow: UnixMillis, bytes: Uint8Array, from?: PeerAddress, local = 0): ListenerResult {
    const type = packetType(bytes);
    if (type === PacketType.Data) {
      const session = this.sessions.get(peekSessionId(bytes) ?? -1);
      const pathId = bytes.length > DATA_HEADER_LEN ? bytes[1] : -1;
      if (session === undefined) {
        this.stats.unknownSessionPackets++;
        return DROP;
      }
      const receipt = session.handleDatagram(now, pathId, bytes, from, local);
      if (receipt !== 'accepted') {
        if (receipt === 'duplicate') this.stats.duplicates++;
        else this.stats.authFailures++;
        return DROP;
      }
      return { kind: 'routed', session, pathId };
    }
    if (type === PacketType.HandshakeInit) return this.handleInit(now, wallNow, bytes, from, local);
    this.stats.authFailures++;
    return DROP;
  }

  /** Call after a session's 'closed' event so its id and memory are released. */
  forget(session: Session): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    for (const [initiator, s] of this.byInitiator) if (s === session) this.byInitiator.delete(initiator);
  }

  private newSessionId(): number {
    const random = this.opts.rng.nextU32();
    const ids = this.opts.sessionIds;
    if (ids === undefined || ids.shards === 1) return random;
    const id = random - (random % ids.shards) + ids.shard;
    return id <= 0xffffffff ? id : id - ids.shards;
  }

  private handleInit(now: Millis, wallNow: UnixMillis, bytes: Uint8Array, from: PeerAddress | undefined, local: number): ListenerResult {
    const rs = this.responder.stats;
    const before = { replayed: rs.replayed, stale: rs.stale, predatesStart: rs.predatesStart, badMac: rs.badMac };
    let localId = this.newSessionId();
    while (this.sessions.has(localId)) localId = this.newSessionId();
    // Limits are checked only once the init proved authentic and fresh, so forgeries and replays
    // can neither use up the budget of real peers nor show up as refusals.
    let refusal: 'sessions' | 'rate' | null = null;
    const admit = (): boolean => {
      if (this.sessions.size >= this.maxSessions) refusal = 'sessions';
      else if (!this.handshakeBucket.take(now)) refusal = 'rate';
      return refusal === null;
    };
    const accepted = this.responder.respond(wallNow, bytes, localId, this.opts.rng, admit);
    if (accepted === null) {
      if (refusal === 'sessions') this.stats.sessionsRefused++;
      else if (refusal === 'rate') this.stats.handshakesRateLimited++;
      else if (rs.replayed > before.replayed && this.byInitiator.has(peekInitiatorId(bytes))) this.stats.handshakeCopies++;
      else if (rs.replayed > before.replayed) this.stats.replays++;
      else if (rs.stale > before.stale) {
        this.stats.replays++;
        this.stats.staleHandshakes++;
      } else if (rs.predatesStart > before.predatesStart) {
        // The dialer's next attempt carries a later timestamp and is answered.
        this.stats.handshakesBeforeStart++;
      } else {
        this.stats.authFailures++;
        if (rs.badMac > before.badMac) this.stats.handshakeAuthFailures++;
      }
      return DROP;
    }
    this.stats.handshakes++;
    const session = Session.accept({ now, keys: accepted.keys, rng: this.opts.rng, config: this.config, fec: this.opts.fec, from, local, probe: this.opts.probe });
    this.sessions.set(localId, session);
    this.byInitiator.set(accepted.initiatorSessionId, session);
    return { kind: 'accepted', session, reply: accepted.response };
  }
}
