import type { FecLane } from './fec/policy.ts';
import type { PathStats } from './pathManager.ts';

/** Session-wide counters for metrics and tests. */
export interface SessionStats {
  streamsOpened: number;
  streamsReset: number;
  activeStreams: number;
  bytesWritten: number;
  bytesRead: number;
  packetsDropped: number;
  /** Authentic packets received twice (late originals of FEC-restored packets, or replays). */
  duplicatePackets: number;
  retransmittedBytes: number;
  /** Packets the peer lost that our FEC decoder restored. */
  fecRestoredPackets: number;
  /** FEC groups that lost more than their repairs could restore (left to ARQ). */
  fecFailedGroups: number;
  /** Current FEC shape per lane (null: off). */
  fec: Record<FecLane, { k: number; m: number; depth: number } | null>;
  /** Key updates done by this side's sender, and followed for the peer's. */
  keyUpdates: { sent: number; received: number };
  paths: PathStats[];
}
