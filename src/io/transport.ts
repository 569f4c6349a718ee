/**
 * How a relay role (entry or exit, src/relay) sees the tunnel, whichever side of the handshake it
 * is on: the dialer ({@link PeerDialer}) and the listener ({@link UdpListener}) both implement
 * {@link Transport}, so "who dials" stays independent of "who accepts TCP".
 */
import type { SessionEvent } from '../session/api.ts';
import type { ListenerStats } from '../session/listener.ts';
import type { CoreSession } from './core.ts';

/** Receives every event of every session a transport runs, after the transport's bookkeeping. */
export interface SessionHandler {
  /**
   * One event of `session`. `connected` means streams may be opened on it; `closed` is the last
   * event of a session. The handler may call into any session; the loop flushes afterwards.
   */
  onSessionEvent(session: CoreSession, event: SessionEvent): void;
}

/** One session of a transport as the metrics endpoint shows it. */
export interface SessionView {
  session: CoreSession;
  /** How long it has been connected, or null while it is still handshaking. */
  connectedForMs: number | null;
  /** Where path `pathId` sends: the peer's address, or '#id' while it is not known yet. */
  pathPeer(pathId: number): string;
}

/** Handshake counters of a transport since it started. */
export interface TransportCounters {
  /** Handshakes completed (dialer: sessions it brought up; listener: handshakes it accepted). */
  handshakes: number;
  /** The listening core's counters of refused datagrams and handshakes; null for a dialer. */
  listener: ListenerStats | null;
}

/** A source of sessions over real sockets. */
export interface Transport {
  /** The session new streams go on: the most recently connected one, or null while none is. */
  readonly activeSession: CoreSession | null;
  /** Call after calling into a session outside an event handler, so its output gets sent. */
  wake(): void;
  /** Begins delivering session events to `handler` (binding sockets, dialing). */
  start(handler: SessionHandler): Promise<void>;
  /**
   * Closes every session gracefully (the peer sees `closed` with `reason`), waits briefly for the
   * close packets to leave, and closes the sockets. No events are delivered afterwards.
   */
  close(reason: string): Promise<void>;
  /** The live sessions, for a metrics scrape (cheap: no copies of stream data). */
  sessionViews(): SessionView[];
  counters(): TransportCounters;
  /**
   * A connection is waiting for a session: a dialer skips the rest of its redial backoff. A
   * listener has nothing to do (the other side dials).
   */
  redialNow?(): void;
}
