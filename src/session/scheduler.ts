import type { Path } from './path.ts';
import type { Millis } from '../base/time.ts';

/**
 * Multipath scheduling, earliest-completion-first (after ECF, Lim et al. 2017): a packet goes
 * on the path where it is expected to arrive first, departure (pacing) plus one-way delay. A
 * slower path that is free now is used only when the backlog would keep the faster path busy
 * longer than the slower path takes to deliver: so paths of unequal RTT add up for bulk, while
 * a light stream never waits on the slow one.
 */
export class Scheduler {
  /** The last pick was the path of earliest arrival (retransmissions go only there). */
  pickedFastest = false;

  /**
   * The path for the next packet, or null (wait for the fastest path's pacer). `backlog` tells how many
   * bytes are waiting, computed only when needed and only up to the amount asked for.
   */
  pick(now: Millis, paths: readonly (Path | undefined)[], backlog: (atLeast: number) => number): Path | null {
    this.pickedFastest = false;
    const useBackups = !paths.some((p) => p !== undefined && p.isUp && !p.config.backup);
    let best: Path | null = null;
    let bestArrival = Infinity;
    let bestDeparture = Infinity;
    for (const p of paths) {
      if (p === undefined || !p.isUp || p.config.backup !== useBackups || !p.hasCwndRoom) continue;
      const departure = Math.max(now, p.pacer.releaseTime());
      const arrival = departure + p.rtt.smoothed / 2;
      if (arrival < bestArrival) {
        best = p;
        bestArrival = arrival;
        bestDeparture = departure;
      }
    }
    if (best === null) return null;
    if (bestDeparture <= now) {
      this.pickedFastest = true;
      return best;
    }
    // The fastest path is busy: is a free one worth it for the data waiting?
    let fallback: Path | null = null;
    let fallbackArrival = Infinity;
    for (const p of paths) {
      if (p === undefined || p === best || !p.isUp || p.config.backup !== useBackups || !p.hasCwndRoom) continue;
      if (!p.pacer.canSend(now)) continue;
      const arrival = now + p.rtt.smoothed / 2;
      if (arrival < fallbackArrival) {
        fallback = p;
        fallbackArrival = arrival;
      }
    }
    if (fallback !== null) {
      const lag = fallbackArrival - bestArrival;
      const needed = lag * best.cc.pacingRate;
      if (needed <= 0 || backlog(needed) >= needed) return fallback;
    }
    return null;
  }
}
