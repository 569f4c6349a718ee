/**
 * Chooses FEC group shapes from measured loss: the fewest repair packets that leave a target
 * fraction of losses for ARQ, within an overhead ceiling. Pure functions of the loss figures.
 */

/** Latency streams (live video) buy more redundancy so that nearly nothing waits for a round trip. */
export type FecLane = 'bulk' | 'latency';

/** The loss a lane's groups are sized for. */
export interface LossModel {
  /** Raw packet loss rate, 0..1. */
  lossRate: number;
  /** Mean length of a loss run, packets (1 for independent loss). */
  meanBurst: number;
}

export interface FecParams {
  /** Source packets per group. */
  k: number;
  /** Repair packets per group of k. */
  m: number;
  /** Groups filled round-robin, so a loss run of up to `depth` packets costs each group one. */
  depth: number;
  /** A group not full after this long is closed with what it has (and re-sized by {@link repairCount}). */
  holdMs: number;
  lane: FecLane;
  loss: LossModel;
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
  bulk: { k: 128, holdMs: 120, residualTarget: 0.02, overheadSlope: 1.5, overheadConstant: 0.03, maxDepth: 8 },
  latency: { k: 16, holdMs: 4, residualTarget: 0.002, overheadSlope: 3, overheadConstant: 0.12, maxDepth: 4 },
};

/** Below this raw loss FEC costs more than the rare retransmission. */
const MIN_LOSS_FOR_FEC = 0.005;

/**
 * Parameters for a lane given the path's loss model, or null for no FEC.
 * Cost: O(k * m) arithmetic; call at most a few times a second per lane.
 */
export function chooseFecParams(loss: LossModel, lane: FecLane): FecParams | null {
  if (!(loss.lossRate >= MIN_LOSS_FOR_FEC)) return null;
  const shape = LANES[lane];
  // Interleave a little deeper than the mean run: runs are geometric, many are longer.
  const depth = Math.max(1, Math.min(shape.maxDepth, Math.ceil(1.5 * loss.meanBurst)));
  return { k: shape.k, m: repairCount(shape.k, loss, depth, lane), depth, holdMs: shape.holdMs, lane, loss };
}

/** Repair packets for a group of `k` sources interleaved `depth` deep. */
export function repairCount(k: number, loss: LossModel, depth: number, lane: FecLane): number {
  const shape = LANES[lane];
  const p = Math.min(0.5, loss.lossRate);
  const perEvent = Math.max(1, loss.meanBurst / depth);
  const ceiling = Math.max(1, Math.ceil(k * (shape.overheadSlope * p + shape.overheadConstant)));
  let m = 1;
  while (m < ceiling && unrecoveredFraction(k, m, p, perEvent) > shape.residualTarget) m++;
  return m;
}

/**
 * Of the source packets lost, the fraction a (k, m) group cannot restore when loss comes in
 * events costing `perEvent` symbols of a group each (1: independent loss): a lost packet is
 * restored unless the other symbols lose more than the repairs can make up for.
 */
export function unrecoveredFraction(k: number, m: number, p: number, perEvent = 1): number {
  const n = k + m - 1;
  const q = Math.min(0.5, p / perEvent);
  const tolerable = Math.floor(m / perEvent);
  // P(Binomial(n, q) >= tolerable): loss events beyond what m repairs absorb.
  let term = (1 - q) ** n;
  let below = 0;
  for (let i = 0; i < tolerable; i++) {
    below += term;
    term *= ((n - i) / (i + 1)) * (q / (1 - q));
  }
  return Math.max(0, 1 - below);
}
