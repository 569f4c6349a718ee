import type { Rng } from '../base/rng.ts';
import type { Millis, UnixMillis } from '../base/time.ts';
import { HandshakeInitiator, type SessionKeys } from '../wire/handshake.ts';
import type { PathId, Transmit } from './api.ts';

/** Inits kept for answers that are late: a slow answer to an earlier attempt still connects. */
const MAX_PENDING_INITIATORS = 4;

/** How the handshake is paced. */
export interface DialerHandshakeConfig {
  /** First retry after this long; each later one waits twice as long, up to four times. */
  handshakeRetryMs: Millis;
  /** Give up this long after the first attempt. */
  handshakeTimeoutMs: Millis;
}

/**
 * The dialer's side of the handshake (wire/handshake.ts): the same init goes out on every path at
 * once and the first answer wins; unanswered, a fresh init is sent with backoff. An answer to any
 * of the last few inits is accepted, and the time since that init left is the path's first RTT.
 */
export class DialerHandshake {
  private readonly initiators: Array<{ initiator: HandshakeInitiator; sentAt: Millis }> = [];
  private attempts = 0;
  /** Paths the current init has yet to go out on. */
  private pending: PathId[] = [];
  /** When the next attempt is due. */
  retryAt: Millis;
  /** When the handshake gives up. */
  readonly timeoutAt: Millis;
  private readonly wallOffset: number;

  constructor(
    private readonly psk: Uint8Array,
    private readonly sessionId: number,
    private readonly rng: Rng,
    private readonly config: DialerHandshakeConfig,
    /** Every path, in id order: each attempt goes out on all of them. */
    private readonly pathIds: readonly PathId[],
    now: Millis,
    wallNow: UnixMillis,
  ) {
    this.retryAt = now;
    this.timeoutAt = now + config.handshakeTimeoutMs;
    this.wallOffset = wallNow - now;
  }

  /** The next init to send, on each path in turn once an attempt is due; null: wait for {@link retryAt}. */
  poll(now: Millis): Transmit | null {
    if (this.pending.length === 0 && now >= this.retryAt) {
      const initiator = new HandshakeInitiator(this.psk, this.sessionId, this.rng, now + this.wallOffset);
      this.initiators.push({ initiator, sentAt: now });
      if (this.initiators.length > MAX_PENDING_INITIATORS) this.initiators.shift();
      this.pending = [...this.pathIds];
      const backoff = Math.min(4, 2 ** this.attempts);
      this.attempts++;
      this.retryAt = now + this.config.handshakeRetryMs * backoff;
    }
    const pathId = this.pending.shift();
    if (pathId === undefined) return null;
    return { pathId, bytes: this.initiators[this.initiators.length - 1].initiator.packet };
  }

  /** A HandshakeResponse: the session keys and the RTT it measured, or null when it answers none of our inits. */
  accept(now: Millis, bytes: Uint8Array): { keys: SessionKeys; rtt: Millis } | null {
    for (const { initiator, sentAt } of this.initiators) {
      const keys = initiator.accept(bytes);
      if (keys !== null) return { keys, rtt: now - sentAt };
    }
    return null;
  }
}
