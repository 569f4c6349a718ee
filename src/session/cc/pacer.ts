import type { Millis } from '../../base/time.ts';

/**
 * Spreads packets at the controller's pacing rate. A sender woken late (timers fire with ~1 ms
 * granularity) may catch up, but only by `maxBurstMs` worth of rate, so a late wake-up never
 * dumps a queue-overflowing burst into a rate-limited link.
 */
export class Pacer {
  private nextSendTime: Millis = -Infinity;

  constructor(
    private readonly maxBurstMs: Millis,
    private readonly minBurstBytes: number,
  ) {}

  /** Earliest time the next packet may leave. */
  releaseTime(): Millis {
    return this.nextSendTime;
  }

  canSend(now: Millis): boolean {
    return now >= this.nextSendTime;
  }

  /** Records a packet of `bytes` leaving at `now` with the path paced at `rate` bytes/ms. */
  onSend(now: Millis, bytes: number, rate: number): void {
    const credit = Math.max(this.maxBurstMs, this.minBurstBytes / rate);
    this.nextSendTime = Math.max(this.nextSendTime, now - credit) + bytes / rate;
  }

  reset(): void {
    this.nextSendTime = -Infinity;
  }
}
