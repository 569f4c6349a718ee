/**
 * The slice of the sans-IO core (src/session) that drivers and relays call. Written as structural
 * interfaces so that the real `Session` and `Listener` satisfy them as they are, and tests can run
 * the I/O layer against small in-memory doubles.
 */
import type { PathId, ReadResult, Receipt, SessionEvent, StreamId, Transmit } from '../session/api.ts';
import type { EndpointDialFn } from '../session/dialerEndpoint.ts';
import type { ListenerStats } from '../session/listener.ts';
import type { PeerAddress } from '../session/pathValidation.ts';
import type { SessionStats } from '../session/stats.ts';
import type { Millis, UnixMillis } from '../base/time.ts';

/** What `io/` and `relay/` use of a `Session`; see src/session/session.ts for when to call each. */
export interface CoreSession {
  readonly id: number;
  /** The name both relays give the session (the real core's {@link Session.tunnelId}); null while handshaking. */
  readonly tunnelId?: string | null;
  readonly isConnected: boolean;
  readonly isClosed: boolean;
  handleDatagram(now: Millis, pathId: PathId, bytes: Uint8Array, from?: PeerAddress, local?: number): Receipt;
  /** Where a path's packets go, for a driver that gives source addresses to `handleDatagram`. */
  pathAddress(pathId: PathId): PeerAddress | null;
  pathLocal(pathId: PathId): number;
  pollTransmit(now: Millis): Transmit | null;
  nextTimeout(): Millis | null;
  handleTimeout(now: Millis): void;
  pollEvent(): SessionEvent | null;
  openStream(service?: string): StreamId | null;
  streamWrite(id: StreamId, data: Uint8Array): number;
  streamRead(id: StreamId, maxBytes?: number): ReadResult;
  streamFinish(id: StreamId): void;
  streamReset(id: StreamId, code: number): void;
  close(now: Millis, reason: string): void;
  /** Figures for the metrics endpoint; test doubles may leave it out (then none are reported). */
  stats?(): SessionStats;
}

/** What a `Listener` tells the driver about one datagram (mirrors src/session/listener.ts). */
export type CoreListenerResult =
  | { kind: 'drop' }
  | { kind: 'accepted'; session: CoreSession; reply: Uint8Array }
  | { kind: 'routed'; session: CoreSession; pathId: PathId };

/** What `io/` uses of a `Listener`. */
export interface CoreListener {
  handleDatagram(now: Millis, wallNow: UnixMillis, bytes: Uint8Array, from?: PeerAddress, local?: number): CoreListenerResult;
  forget(session: CoreSession): void;
  /** Handshake and authentication counters, where the core keeps them (the real `Listener`). */
  readonly stats?: ListenerStats;
}

/**
 * Starts a dialer-side session over `pathIds`; the caller binds the key, rng and config.
 * `overrides` adjust that config for this one session (the restart check handshakes more
 * briskly than a dial).
 */
export type DialFn = EndpointDialFn<CoreSession>;
