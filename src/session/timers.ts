import type { Millis } from '../base/time.ts';

/**
 * The session's own timers, one slot each in its {@link TimerTable}. `handleTimeout` serves them
 * in this order; the wake-only slots (`HandshakeRetry`, `Repair`) have no action there: they wake
 * the driver so that `pollTransmit` sends what is due.
 */
export const Timer = {
  /** Dialer: the next handshake attempt. */
  HandshakeRetry: 0,
  /** Dialer: give up on the handshake. */
  HandshakeTimeout: 1,
  /** Nothing heard from the peer for the idle timeout: the session ends. */
  Idle: 2,
  /** An FEC group's hold ends: it closes and its repairs are queued. */
  FecGroup: 3,
  /** Our sending key is due for an update (RFC 9001 §6). */
  KeyUpdate: 4,
  /** The peer's previous key is no longer kept. */
  KeyDiscard: 5,
  /** Nothing ack-eliciting sent for the keep-alive interval: ping every path. */
  KeepAlive: 6,
  /** A spaced-out repair may go while some path can send. */
  Repair: 7,
} as const;
export type Timer = (typeof Timer)[keyof typeof Timer];
export const TIMER_COUNT = 8;

/**
 * One path's timers, one slot each in the path's {@link TimerTable}, served in this order by
 * `handleTimeout`; the last four only wake the driver for `pollTransmit`.
 */
export const PathTimer = {
  /** The path went dark: fail it over. */
  Silence: 0,
  /** RFC 9002 §6.1.2: a packet passes its time threshold. */
  Loss: 1,
  /** RFC 9002 §6.2: probe timeout. */
  Pto: 2,
  /** The candidate address's hold or challenge times out (RFC 9000 §9). */
  Migration: 3,
  /** An ACK is owed. */
  Ack: 4,
  /** A LOSS_REPORT of the path's raw loss is owed. */
  LossReport: 5,
  /** A PATH_CHALLENGE is owed. */
  Challenge: 6,
  /** The pacer releases the next packet that is waiting. */
  Pacing: 7,
} as const;
export type PathTimer = (typeof PathTimer)[keyof typeof PathTimer];
export const PATH_TIMER_COUNT = 8;

/**
 * Deadlines indexed by a timer enum, as quinn-proto's `TimerTable`: the next wake-up is their
 * minimum, and a slot is either armed (a time) or stopped (Infinity). No allocation after
 * construction.
 */
export class TimerTable {
  private readonly at: Float64Array;

  constructor(slots: number) {
    this.at = new Float64Array(slots).fill(Infinity);
  }

  /** Arms `slot` for `at` (Infinity stops it). */
  set(slot: number, at: Millis): void {
    this.at[slot] = at;
  }

  /** Whether `slot` is armed and due at `now`. */
  expired(slot: number, now: Millis): boolean {
    return this.at[slot] <= now;
  }

  stopAll(): void {
    this.at.fill(Infinity);
  }

  /** The earliest armed deadline, or Infinity when every slot is stopped. */
  next(): Millis {
    let t = Infinity;
    for (let i = 0; i < this.at.length; i++) if (this.at[i] < t) t = this.at[i];
    return t;
  }
}
