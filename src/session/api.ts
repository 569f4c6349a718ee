/**
 * The public surface of the sans-IO core, in the manner of quinn-proto. Drivers (src/io, src/sim)
 * feed datagrams and timeouts in and pull transmits and events out; nothing here reads a clock,
 * opens a socket or sets a timer.
 */

/** Index of a path within a session: the dialer's n-th `--peer` address, 0..255. */
export type PathId = number;
/** Stream number; dialer-opened streams are even, listener-opened odd. */
export type StreamId = number;

/** One datagram to send on a path. The bytes are a fresh buffer that belongs to the caller. */
export interface Transmit {
  pathId: PathId;
  bytes: Uint8Array;
}

export type SessionEvent =
  /** The handshake completed; streams may be opened. */
  | { type: 'connected' }
  /** The peer opened a stream (carrying the service name it asked for, if any). */
  | { type: 'streamOpened'; streamId: StreamId; service: string }
  /** Data (or the FIN) is ready for `streamRead`. */
  | { type: 'streamReadable'; streamId: StreamId }
  /** Send buffer space freed after `streamWrite` accepted less than it was given. */
  | { type: 'streamWritable'; streamId: StreamId }
  /** The peer reset the stream (or stopped reading it); its data is discarded both ways. */
  | { type: 'streamReset'; streamId: StreamId; code: number }
  /** Both directions are done (finished and acknowledged, or reset) and its state is freed. */
  | { type: 'streamClosed'; streamId: StreamId }
  | { type: 'pathUp'; pathId: PathId }
  | { type: 'pathDown'; pathId: PathId; reason: string }
  /** The peer answered from a new address on this path (a NAT rebinding): its packets go there now. */
  | { type: 'pathMoved'; pathId: PathId }
  /** The session ended; every open stream was reset. No further events follow. */
  | { type: 'closed'; reason: string; byPeer: boolean };

/** What became of a datagram fed to `Session.handleDatagram`. */
export type Receipt = 'accepted' | 'duplicate' | 'dropped';

/** Result of a stream read: a view of received bytes, or the end of the stream. */
export type ReadResult = Uint8Array | 'fin' | null;
