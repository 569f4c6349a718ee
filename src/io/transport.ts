/**
 * How a relay role (entry or exit, src/relay) sees the tunnel, whichever side of the handshake it
 * is on: the dialer ({@link UdpDialer}) and the listener ({@link UdpListener}) both implement
 * {@link Transport}, so "who dials" stays independent of "who accepts TCP".
 */
import type { SessionEvent } from '../session/api.ts';
import type { CoreSession } from './core.ts';

/** Receives every event of every session a transport runs, after the transport's bookkeeping. */
export interface SessionHandler {
  /**
   * One event of `session`. `connected` means streams may be opened on it; `closed` is the last
   * event of a session. The handler may call into any session; the loop flushes afterwards.
   */
  onSessionEvent(session: CoreSession, event: SessionEvent): void;
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
}
