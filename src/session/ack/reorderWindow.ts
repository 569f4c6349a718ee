import type { Millis } from '../../base/time.ts';

/** Packets declared lost that are remembered, to notice when one of them is acknowledged after all. */
const REMEMBERED_LOSSES = 64;
/** Each spurious loss widens the window by this fraction of the smoothed RTT (RFC 8985 §6.2). */
const STEP_OF_RTT = 1 / 4;
/** The window never exceeds this many smoothed RTTs (or REORDERING_FLOOR_MS, see there). */
const MAX_OF_RTT = 2;
/**
 * On a short path that reorders, the jitter may dwarf the RTT: random path 257 of the soak (2 ms,
 * 20 ms of reordering jitter) capped at two RTTs (~12 ms) kept declaring late packets lost, and
 * the retransmissions, lost late in turn, were half of all it sent. Only where the peer reports
 * reordering: elsewhere a spurious loss is a delay spike, and waiting 50 ms to call a loss on a
 * 5 ms path with bursty loss made its stream's chunks 40 ms later.
 */
const REORDERING_FLOOR_MS = 50;
/** What is left of the window after each quiet loss report (about 200 ms). */
const DECAY = 0.9;

/**
 * The time a packet may lag packets sent after it before it counts as lost, learnt from losses
 * that proved spurious (RACK's reordering window, RFC 8985 §6.2): when the ACK of a packet we
 * already declared lost arrives, the path reorders by more than the time threshold allows, and
 * every such loss cost a needless retransmission. On a 7 ms path with 10 ms of reordering jitter
 * a 60 Mbit/s stream re-sent 21 MB of its 45 MB, and chunks waited 270 ms behind the storm.
 */
export class ReorderWindow {
  /** Extra delay added to the time threshold, ms. */
  extraMs: Millis = 0;
  /** Losses found spurious so far. */
  spurious = 0;
  private readonly lost = new Float64Array(REMEMBERED_LOSSES).fill(-1);
  private next = 0;
  private remembered = 0;
  private spuriousSinceReport = false;

  /** Call for each packet declared lost. */
  onLost(pn: number): void {
    if (this.lost[this.next] < 0) this.remembered++;
    this.lost[this.next] = pn;
    this.next = (this.next + 1) % REMEMBERED_LOSSES;
  }

  /**
   * Call with every ACK's ranges (highest first, [lo, hi] inclusive) before loss detection:
   * widens the window for each remembered loss the ACK covers. `reordering`: the peer reports
   * that the path reorders.
   */
  onAck(ranges: ReadonlyArray<readonly [number, number]>, smoothedRtt: Millis, reordering: boolean): void {
    if (this.remembered === 0) return;
    const lowest = ranges[ranges.length - 1][0];
    for (let i = 0; i < REMEMBERED_LOSSES; i++) {
      const pn = this.lost[i];
      if (pn < lowest) continue;
      for (const [lo, hi] of ranges) {
        if (pn > hi) break;
        if (pn >= lo) {
          this.lost[i] = -1;
          this.remembered--;
          this.spurious++;
          this.spuriousSinceReport = true;
          const ceiling = reordering ? Math.max(MAX_OF_RTT * smoothedRtt, REORDERING_FLOOR_MS) : MAX_OF_RTT * smoothedRtt;
          this.extraMs = Math.min(ceiling, this.extraMs + Math.max(1, STEP_OF_RTT * smoothedRtt));
          break;
        }
      }
    }
  }

  /** Call at each of the peer's loss reports: a window not needed lately shrinks back. */
  onReport(): void {
    if (!this.spuriousSinceReport) this.extraMs *= DECAY;
    this.spuriousSinceReport = false;
  }
}
