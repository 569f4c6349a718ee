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
  /**
   * The path for a packet that may go on any path (repairs): the {@link earliest} one if its
   * pacer lets it go now, else the {@link fallback}; null to wait. `backlog` tells how many bytes
   * are waiting, computed only when needed and only up to the amount asked for.
   */
  pick(now: Millis, paths: readonly (Path | undefined)[], backlog: (atLeast: number) => number): Path | null {
    const best = this.earliest(now, paths);
    if (best === null || best.pacer.canSend(now)) return best;
    return this.fallback(now, paths, best, backlog);
  }

  /**
   * The path where a packet would arrive first, pacing departure plus half the smoothed RTT,
   * among those up with window left (backup paths only while no regular path is up), or null
   * when none can take a packet. Retransmissions go only there; when its pacer holds it, see
   * {@link fallback}.
   */
  earliest(now: Millis, paths: readonly (Path | undefined)[]): Path | null {
    const useBackups = !paths.some((p) => p !== undefined && p.isUp && !p.config.backup);
    let best: Path | null = null;
    let bestArrival = Infinity;
    for (const p of paths) {
      if (p === undefined || !p.isUp || p.config.backup !== useBackups || !p.hasCwndRoom) continue;
      const arrival = Math.max(now, p.pacer.releaseTime()) + p.rtt.smoothed / 2;
      if (arrival < bestArrival) {
        best = p;
        bestArrival = arrival;
      }
    }
    return best;
  }

  /**
   * While `best` (from {@link earliest}) waits for its pacer: a slower path free now, if the
   * data waiting would keep `best` busy longer than the slower path takes to deliver; else null
   * (wait for `best`).
   */
  fallback(now: Millis, paths: readonly (Path | undefined)[], best: Path, backlog: (atLeast: number) => number): Path | null {
    const useBackups = best.config.backup;
    const bestArrival = Math.max(now, best.pacer.releaseTime()) + best.rtt.smoothed / 2;
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
    if (fallback === null) return null;
    const lag = fallbackArrival - bestArrival;
    const needed = lag * best.cc.pacingRate;
    return needed <= 0 || backlog(needed) >= needed ? fallback : null;
  }
}
