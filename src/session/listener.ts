import type { PathId } from './api.ts';
import { resolveSessionConfig, type SessionConfig } from './config.ts';
import type { Rng } from './rng.ts';
import type { ReedSolomon } from '../fec/index.ts';
import { Session } from './session.ts';
import type { Millis, UnixMillis } from './time.ts';
import { HandshakeResponder } from '../wire/handshake.ts';
import { DATA_HEADER_LEN, PacketType, packetType, peekSessionId } from '../wire/packet.ts';

/** What became of one datagram given to {@link Listener.handleDatagram}. */
export type ListenerResult =
  /** Unauthenticated, replayed, stale or garbage: counted, never answered. */
  | { kind: 'drop' }
  /**
   * A new session from a handshake: send `reply` to the datagram's source. The session learns
   * its paths from the dialer's first data packets on each, reported as 'routed'.
   */
  | { kind: 'accepted'; session: Session; reply: Uint8Array }
  /** An authenticated datagram of an existing session: remember its source address for (session, pathId). */
  | { kind: 'routed'; session: Session; pathId: PathId };

export interface ListenerStats {
  /** Datagrams that failed authentication or made no sense (scanners, garbage, other keys). */
  authFailures: number;
  handshakes: number;
  /** Handshakes refused as replays or with a stale timestamp. */
  replays: number;
  /** Handshakes refused because `maxSessions` were live. */
  sessionsRefused: number;
}

const DROP: ListenerResult = { kind: 'drop' };

/**
 * The listener side's demultiplexer, sans-IO: answers authenticated handshakes with a new
 * {@link Session} and routes data packets to their session by the session id in the clear header.
 * Strangers get nothing back: every failure is a silent, counted drop.
 */
export class Listener {
  private readonly responder: HandshakeResponder;
  private readonly sessions = new Map<number, Session>();
  private readonly config: SessionConfig;
  private readonly maxSessions: number;
  readonly stats: ListenerStats = { authFailures: 0, handshakes: 0, replays: 0, sessionsRefused: 0 };

  constructor(
    private readonly opts: {
      psk: Uint8Array;
      rng: Rng;
      config?: Partial<SessionConfig>;
      maxSessions?: number;
      /** Reed-Solomon engine for forward error correction (`loadFec()`); none: ARQ only. */
      fec?: ReedSolomon;
    },
  ) {
    this.responder = new HandshakeResponder(opts.psk);
    this.config = resolveSessionConfig(opts.config);
    this.maxSessions = opts.maxSessions ?? 256;
  }

  /** Live sessions (closed ones stay until {@link forget}). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  allSessions(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** Feeds a datagram that arrived on any listening socket. Never throws on bad input. */
  handleDatagram(now: Millis, wallNow: UnixMillis, bytes: Uint8Array): ListenerResult {
    const type = packetType(bytes);
    if (type === PacketType.Data) {
      const session = this.sessions.get(peekSessionId(bytes) ?? -1);
      const pathId = bytes.length > DATA_HEADER_LEN ? bytes[1] : -1;
      if (session === undefined || !session.handleDatagram(now, pathId, bytes)) {
        this.stats.authFailures++;
        return DROP;
      }
      return { kind: 'routed', session, pathId };
    }
    if (type === PacketType.HandshakeInit) return this.handleInit(now, wallNow, bytes);
    this.stats.authFailures++;
    return DROP;
  }

  /** Call after a session's 'closed' event so its id and memory are released. */
  forget(session: Session): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
  }

  private handleInit(now: Millis, wallNow: UnixMillis, bytes: Uint8Array): ListenerResult {
    const before = this.responder.stats.replayed + this.responder.stats.stale;
    if (this.sessions.size >= this.maxSessions) {
      this.stats.sessionsRefused++;
      return DROP;
    }
    let localId = this.opts.rng.nextU32();
    while (this.sessions.has(localId)) localId = this.opts.rng.nextU32();
    const accepted = this.responder.respond(wallNow, bytes, localId, this.opts.rng);
    if (accepted === null) {
      if (this.responder.stats.replayed + this.responder.stats.stale > before) this.stats.replays++;
      else this.stats.authFailures++;
      return DROP;
    }
    this.stats.handshakes++;
    const session = Session.accept({ now, wallNow, keys: accepted.keys, rng: this.opts.rng, config: this.config, fec: this.opts.fec });
    this.sessions.set(localId, session);
    return { kind: 'accepted', session, reply: accepted.response };
  }
}
