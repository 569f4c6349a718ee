import type { Millis } from '../base/time.ts';

/**
 * How late the host woke the session: the first call after `nextTimeout` tells it. A timer due
 * at the wake-up time asked for that fires later, or an input handled later, was held up by the
 * host (a busy event loop, a stalled vCPU), not by the path.
 */
export class HostLateness {
  /** When the driver was last asked to wake us; Infinity once an input or timer came. */
  private wakeAt: Millis = Infinity;
  private lastEntryAt: Millis = -Infinity;

  /** The session told the driver to wake it at `t`. */
  asked(t: Millis): void {
    // A deadline already past when asked for is due at once: lateness counts from the last call.
    this.wakeAt = Math.max(t, this.lastEntryAt);
  }

  /** An input, timer or poll at `now`: how late the host was for it, ms (0 unless it is the first since {@link asked}). */
  entry(now: Millis): Millis {
    this.lastEntryAt = now;
    if (this.wakeAt === Infinity) return 0;
    const late = Math.max(0, now - this.wakeAt);
    this.wakeAt = Infinity;
    return late;
  }
}
