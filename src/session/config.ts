import type { Millis } from '../base/time.ts';
import { KEY_UPDATE_INTERVAL_MS } from '../wire/keyUpdate.ts';

/** Tunables of a session. Defaults suit a 150-200 ms, 100 Mbit/s, lossy long-haul path. */
export interface SessionConfig {
  /** Concurrent streams the peer may open; more are refused with a reset. */
  maxStreams: number;
  /**
   * The largest a stream's receive window grows to: must exceed one stream's bandwidth-delay
   * product. A stream starts at `initialStreamWindowBytes` and doubles while its reader keeps up.
   */
  streamWindowBytes: number;
  /**
   * A new stream's receive window (capped by `streamWindowBytes`), the same on both relays: it is
   * what each side may send before the other's first MAX_STREAM_DATA.
   */
  initialStreamWindowBytes: number;
  /** Receive window across all streams: bounds what a slow reader makes us hold. */
  sessionWindowBytes: number;
  /** Bytes one stream may hold written but unacknowledged before writes are refused. */
  streamSendBufferBytes: number;
  /** Same across all streams of the session. */
  sessionSendBufferBytes: number;
  /**
   * Bytes one stream may hold written but never sent before writes are refused. What keeps the
   * paths busy until the next acknowledgement wakes the writer is far less; a larger backlog only
   * ages in memory. At the loopback ceiling with eight connections, 64 MiB of backlog (the send
   * buffers' whole) cost 8-13% of the goodput, every byte read back cold a second after TCP
   * wrote it.
   */
  streamUnsentBytes: number;
  /** The session is dead after this long without an authenticated packet. */
  idleTimeoutMs: Millis;
  /** A PING goes out on each path after this long without sending anything ack-eliciting. */
  keepAliveMs: Millis;
  /** Handshake retransmission interval (doubles up to 4x) and give-up time. */
  handshakeRetryMs: Millis;
  handshakeTimeoutMs: Millis;
  /** Largest UDP payload sent. 1350 fits every common tunnel and PPPoE link. */
  mtu: number;
  initialRttMs: Millis;
  maxAckDelayMs: Millis;
  /**
   * ACK after this many ack-eliciting packets, once a path's first 100 were acknowledged every
   * second one (RFC 9000 §13.2.2 uses 2 throughout; chromium's QUIC decimates to 10 the same way).
   */
  ackEveryPackets: number;
  /** First round's window before the path's RTT is known, and its floor after. */
  initialCwndPackets: number;
  /**
   * Rate the first round's window is sized for once the RTT is known (window = rate * RTT, on
   * paths of 80 ms RTT or more; 0 for none). BBR's start-up grows the window about 2.9x a round;
   * a live 4K stream (60 Mbit/s plus its repairs) that starts below its own rate queues for two
   * rounds behind it, and start-up then floods that backlog into the bottleneck.
   */
  initialRateMbps: number;
  /** Optional pacing ceiling per path, in Mbit/s (a VPS plan's bandwidth); 0 for none. */
  maxRateMbps: number;
  /** Per-path overrides by path id (the dialer's n-th peer address). */
  paths: PathOptions[];
  /** How often a down path is probed with PATH_CHALLENGE. */
  pathProbeIntervalMs: Millis;
  /** Send repair packets (adaptive FEC). Off, the session still restores with the peer's repairs. */
  fec: boolean;
  /** How often the sending key is replaced (wire/keyUpdate.ts); never below its 30 s minimum gap. */
  keyUpdateIntervalMs: Millis;
}

/** Settings of one path. */
export interface PathOptions {
  /** Used only while every regular path is down (a metered backup link). */
  backup?: boolean;
  /** Pacing ceiling of this path in Mbit/s, overriding `maxRateMbps`. */
  maxRateMbps?: number;
}

export const DEFAULT_SESSION_CONFIG: Readonly<SessionConfig> = {
  maxStreams: 1024,
  streamWindowBytes: 24 * 1024 * 1024,
  initialStreamWindowBytes: 8 * 1024 * 1024,
  sessionWindowBytes: 64 * 1024 * 1024,
  streamSendBufferBytes: 16 * 1024 * 1024,
  sessionSendBufferBytes: 64 * 1024 * 1024,
  streamUnsentBytes: 1024 * 1024,
  idleTimeoutMs: 8_000,
  keepAliveMs: 1_000,
  handshakeRetryMs: 400,
  handshakeTimeoutMs: 10_000,
  mtu: 1350,
  initialRttMs: 200,
  maxAckDelayMs: 5,
  ackEveryPackets: 10,
  initialCwndPackets: 256,
  initialRateMbps: 100,
  maxRateMbps: 0,
  paths: [],
  pathProbeIntervalMs: 500,
  fec: true,
  keyUpdateIntervalMs: KEY_UPDATE_INTERVAL_MS,
};

export function resolveSessionConfig(partial: Partial<SessionConfig> | undefined): SessionConfig {
  return { ...DEFAULT_SESSION_CONFIG, ...partial };
}
