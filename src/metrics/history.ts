/**
 * The last few minutes of every path, one point a second, for the dashboard's charts (`/history`).
 * Rates are differences of the snapshot's counters between two points, so nothing is counted per
 * packet; a point costs one {@link RelayStatus} snapshot (a `stats()` call per session).
 */
import type { RelayStatus } from './status.ts';

/** One path at one instant. Rates in bits a second, ratios 0..1, null where nothing was measured. */
export interface PathPoint {
  session: string;
  path: number;
  peer: string;
  state: string;
  /** Smoothed RTT; null before the first sample. */
  rttMs: number | null;
  /** Raw loss the peer reported on what was sent since the last point (before FEC); null when it reported on nothing. */
  lossRaw: number | null;
  /** Packets those reports covered, to weigh `lossRaw` when averaging points. */
  lossRawPackets: number;
  /** Packets sent since the last point that ARQ had to repair (what FEC did not), per packet sent; null when none were sent. */
  lossAfterFec: number | null;
  /** FEC repair packets per packet sent since the last point; null when none were sent. */
  fecOverhead: number | null;
  sendBps: number;
  recvBps: number;
}

export interface HistoryPoint {
  /** Unix milliseconds. */
  t: number;
  paths: PathPoint[];
}

/** Five minutes at one point a second. */
export const HISTORY_POINTS = 300;
/**
 * Paths kept per point: plenty for a pair of relays, and a bound on memory and on the size of
 * `/history` for an exit relay that many entry relays dial (256 sessions of 2 paths would
 * otherwise be 150,000 path points).
 */
export const MAX_PATHS_PER_POINT = 32;

/** A ring of {@link HistoryPoint}s fed by {@link record}. */
export class StatusHistory {
  private readonly points: HistoryPoint[] = [];
  private last: { at: number; status: RelayStatus } | null = null;

  constructor(private readonly capacity = HISTORY_POINTS) {}

  /** Adds the point for `status`, taken at `at` (unix ms); rates are against the previous call's snapshot. */
  record(status: RelayStatus, at: number): void {
    const before = this.last;
    const seconds = before === null ? 0 : (at - before.at) / 1000;
    const paths: PathPoint[] = [];
    for (const session of status.sessions) {
      if (paths.length >= MAX_PATHS_PER_POINT) break;
      const old = before?.status.sessions.find((s) => s.id === session.id);
      for (const p of session.paths.slice(0, MAX_PATHS_PER_POINT - paths.length)) {
        const prev = old?.paths.find((q) => q.id === p.id);
        const sent = prev === undefined ? 0 : p.packetsSent - prev.packetsSent;
        const reported = prev === undefined ? 0 : p.reportedPackets - prev.reportedPackets;
        const rate = (now: number, then: number | undefined) => (then === undefined || seconds <= 0 ? 0 : Math.max(0, ((now - then) * 8) / seconds));
        paths.push({
          session: session.id,
          path: p.id,
          peer: p.peer,
          state: p.state,
          rttMs: p.minRttMs === null ? null : p.srttMs,
          lossRaw: reported > 0 ? Math.max(0, p.reportedLostPackets - prev!.reportedLostPackets) / reported : null,
          lossRawPackets: Math.max(0, reported),
          lossAfterFec: sent > 0 ? Math.max(0, p.packetsLost - prev!.packetsLost) / sent : null,
          fecOverhead: sent > 0 ? Math.max(0, p.fecRepairPacketsSent - prev!.fecRepairPacketsSent) / sent : null,
          sendBps: rate(p.bytesSent, prev?.bytesSent),
          recvBps: rate(p.bytesReceived, prev?.bytesReceived),
        });
      }
    }
    this.points.push({ t: at, paths });
    if (this.points.length > this.capacity) this.points.shift();
    this.last = { at, status };
  }

  /** The points, oldest first. */
  list(): readonly HistoryPoint[] {
    return this.points;
  }
}
