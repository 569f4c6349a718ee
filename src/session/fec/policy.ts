/**
 * Chooses FEC group shapes from measured loss: the fewest repair packets that leave a target
 * fraction of losses for ARQ, within an overhead ceiling. Pure functions of the loss figures.
 */

/** Latency streams (live video) buy more redundancy so that nearly nothing waits for a round trip. */
export type FecLane = 'bulk' | 'latency';

export interface FecParams {
  /** Source packets per group. */
  k: number;
  /** Repair packets per group. */
  m: number;
  /** Groups filled round-robin, so a loss run of up to `depth` packets costs each group one. */
  depth: number;
  /** A group not full after this long is closed with what it has. */
  holdMs: number;
}

interface LaneShape {
  k: number;
  holdMs: number;
  /** Fraction of lost packets allowed to remain for ARQ. */
  residualTarget: number;
  /** Overhead ceiling: repair/source <= slope * loss + constant. */
  overheadSlope: number;
  overheadConstant: number;
  maxDepth: number;
}

const LANES: Record<FecLane, LaneShape> = {
  bulk: { k: 64, holdMs: 30, residualTarget: 0.03, overheadSlope: 1.5, overheadConstant: 0.04, maxDepth: 8 },
  latency: { k: 16, holdMs: 4, residualTarget: 0.002, overheadSlope: 3, overheadConstant: 0.12, maxDepth: 4 },
};

/** Below this raw loss FEC costs more than the rare retransmission. */
const MIN_LOSS_FOR_FEC = 0.003;

/**
 * Parameters for a lane given the raw loss rate and mean loss-run length, or null for no FEC.
 * Cost: O(k * m) arithmetic, call at most a few times a second per lane.
 */
export function chooseFecParams(lossRate: number, meanBurst: number, lane: FecLane): FecParams | null {
  if (!(lossRate >= MIN_LOSS_FOR_FEC)) return null;
  const shape = LANES[lane];
  const p = Math.min(0.5, lossRate);
  const depth = Math.max(1, Math.min(shape.maxDepth, Math.round(meanBurst)));
  const k = shape.k;
  const ceiling = Math.max(1, Math.ceil(k * (shape.overheadSlope * p + shape.overheadConstant)));
  let m = 1;
  while (m < ceiling && unrecoveredFraction(k, m, p) > shape.residualTarget) m++;
  return { k, m, depth, holdMs: shape.holdMs };
}

/**
 * Of the source packets lost, the fraction a (k, m) group cannot restore under independent loss
 * p: a lost packet is restored unless at least m of the other k + m - 1 are lost too.
 */
export function unrecoveredFraction(k: number, m: number, p: number): number {
  const n = k + m - 1;
  // P(Binomial(n, p) >= m) = 1 - sum_{i<m} C(n,i) p^i (1-p)^(n-i), summed in log-free form.
  let term = (1 - p) ** n;
  let below = 0;
  for (let i = 0; i < m; i++) {
    below += term;
    term *= ((n - i) / (i + 1)) * (p / (1 - p));
  }
  return Math.max(0, 1 - below);
}
