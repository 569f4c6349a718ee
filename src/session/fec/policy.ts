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
  /** Repairs per source packet the path has room for (Infinity: no limit); groups closed early keep to it. */
  maxOverhead: number;
}

interface LaneShape {
  k: number;
  holdMs: number;
  /** Fraction of lost packets allowed to remain for ARQ. */
  residualTarget: number;
  /** Overhead ceiling: repair/source <= slope * loss + constant. */
  overheadSlope: number;
  overheadConstant: number;
  /** Hard cap on repair/source, whatever the loss. */
  maxOverhead: number;
  maxDepth: number;
  /** Below this raw loss the lane sends no repairs. */
  minLoss: number;
}

/**
 * Bulk: big groups, a few percent of the losses left to ARQ, overhead near the loss rate.
 * Latency: a loss left to ARQ stalls an ordered stream for a round trip, which a live stream
 * shows as a stall, so groups are small, close within 30 ms, and buy down the residual hard.
 */
const LANES: Record<FecLane, LaneShape> = {
  bulk: { k: 128, holdMs: 120, residualTarget: 0.02, overheadSlope: 1.5, overheadConstant: 0.03, maxOverhead: 0.5, maxDepth: 8, minLoss: 0.005 },
  latency: { k: 16, holdMs: 30, residualTarget: 1e-5, overheadSlope: 8, overheadConstant: 0.25, maxOverhead: 0.5, maxDepth: 8, minLoss: 0.001 },
};

/**
 * Parameters for a lane given the path's loss model, or null for no FEC.
 * Cost: O(k * m) arithmetic; call at most a few times a second per lane.
 */
export function chooseFecParams(loss: LossModel, lane: FecLane, maxOverhead = Infinity): FecParams | null {
  const shape = LANES[lane];
  if (!(loss.lossRate >= shape.minLoss)) return null;
  // Repairs the path has no room for would only queue behind the stream they protect.
  if (shape.k * maxOverhead < 1) return null;
  // Interleave deeper than the mean run: runs are geometric, many are longer.
  const depth = Math.max(1, Math.min(shape.maxDepth, Math.ceil(2 * loss.meanBurst)));
  const wanted = repairCount(shape.k, loss, depth, lane);
  const m = Math.min(wanted, Math.floor(shape.k * maxOverhead));
  if (m < wanted) return widerGroup(shape, loss, depth, lane, maxOverhead);
  return { k: shape.k, m, depth, holdMs: shape.holdMs, lane, loss, maxOverhead };
}

/** Group sizes tried when the path's room caps the repairs (the lane's own size first). */
const WIDER_GROUP_FACTORS = [1, 2, 4];

/**
 * When the room on the path caps a group's repairs below what the loss needs, a wider group
 * restores more for the same overhead (more symbols even out the loss): at 6.5% random loss and
 * room for 25% repairs, 4 of 16 leave 2.6% of the losses to ARQ, 16 of 64 leave 0.1%. The group
 * still closes after the lane's hold, smaller and keeping to the same overhead, so a slow stream
 * waits no longer for its repairs. Returns the size that leaves the fewest losses unrestored.
 */
function widerGroup(shape: LaneShape, loss: LossModel, depth: number, lane: FecLane, maxOverhead: number): FecParams {
  const p = Math.min(0.5, loss.lossRate);
  const perEvent = symbolsPerLossEvent(loss, depth);
  let best = { k: shape.k, m: 0, residual: Infinity };
  for (const factor of WIDER_GROUP_FACTORS) {
    const k = shape.k * factor;
    const m = repairCount(k, loss, depth, lane, maxOverhead);
    const residual = unrecoveredFraction(k, m, p, perEvent);
    if (residual < best.residual) best = { k, m, residual };
  }
  return { k: best.k, m: best.m, depth, holdMs: shape.holdMs, lane, loss, maxOverhead };
}

/**
 * Symbols a loss run costs a group interleaved `depth` deep. Runs are geometric: one of mean
 * length b costs a group sum over j of P(length > j * depth) = 1 / (1 - (1 - 1/b)^depth) symbols
 * on average (1.11 for runs of 4 over depth 8), and the long tail is what fails groups.
 */
function symbolsPerLossEvent(loss: LossModel, depth: number): number {
  const b = Math.max(1, loss.meanBurst);
  return Math.max(1, (2 * b) / depth, 1 / (1 - (1 - 1 / b) ** depth));
}

/** Repair packets for a group of `k` sources interleaved `depth` deep. */
export function repairCount(k: number, loss: LossModel, depth: number, lane: FecLane, maxOverhead = Infinity): number {
  const shape = LANES[lane];
  const p = Math.min(0.5, loss.lossRate);
  // A run longer than the depth costs a group more than one symbol.
  const perEvent = symbolsPerLossEvent(loss, depth);
  const ceiling = Math.max(1, Math.min(Math.floor(k * maxOverhead), Math.ceil(k * Math.min(shape.maxOverhead, shape.overheadSlope * p + shape.overheadConstant))));
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
