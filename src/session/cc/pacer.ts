import type { Millis } from '../../base/time.ts';

/** Catch-up allowed after an ordinary late timer (timers fire with ~1 ms granularity). */
export const PACER_BURST_MS = 2;

/**
 * Spreads packets at the controller's pacing rate. A sender woken late by an ordinary timer may
 * catch up, but only by `maxBurstMs` worth of rate, so a late wake-up never dumps a
 * queue-overflowing burst into a rate-limited link; one its host held up is excused for longer
 * ({@link excuseLateness}).
 */
export class Pacer {
  private nextSendTime: Millis = -Infinity;
  /** While owed packets from a late wake-up are caught up on: the schedule may lag back to here. */
  private excusedFrom: Millis = -Infinity;

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

  /**
   * The sender's host woke it `lateMs` late (a busy event loop, a stalled vCPU): the packets owed
   * for that time may leave now, over as many turns as it takes. A host that runs in slices of
   * 10 ms every 100 ms would otherwise send at a tenth of the pacing rate, its delivery samples
   * would say so, and the bandwidth estimate would follow them down, slice by slice, to nothing
   * (issue 17's collapse on a loaded machine).
   */
  excuseLateness(now: Millis, lateMs: Millis): void {
    this.excusedFrom = now - lateMs;
  }

  /** Records a packet of `bytes` leaving at `now` with the path paced at `rate` bytes/ms. */
  onSend(now: Millis, bytes: number, rate: number): void {
    const burstFloor = now - Math.max(this.maxBurstMs, this.minBurstBytes / rate);
    const floor = this.excusedFrom === -Infinity ? burstFloor : Math.min(burstFloor, this.excusedFrom);
    this.nextSendTime = Math.max(this.nextSendTime, floor) + bytes / rate;
    if (this.nextSendTime >= burstFloor) this.excusedFrom = -Infinity;
  }

  reset(): void {
    this.nextSendTime = -Infinity;
    this.excusedFrom = -Infinity;
  }
}
