/**
 * The bench's arithmetic: goodput, the link's limit and the ratio to it, delivery-delay
 * percentiles, and the stalls a video player with a fixed playout buffer would have seen.
 * Pure functions; the report and its tests share them.
 */
import type { LinkConfig } from '../src/sim/link.ts';

/**
 * When a transfer that started at `startedAt` ended, for its goodput: its last byte if it
 * completed, else when it was stopped at its cap (`stoppedAt`), else its last byte so far.
 */
export function transferEndAt(result: { complete: boolean; lastByteAt: number | null }, stoppedAt: number | null, startedAt: number): number {
  return result.complete ? result.lastByteAt! : (stoppedAt ?? result.lastByteAt ?? startedAt);
}

/** Goodput in Mbit/s (10^6 bit/s) of `bytes` delivered in `seconds`; 0 for no time. */
export function goodputMbps(bytes: number, seconds: number): number {
  return seconds > 0 ? (bytes * 8) / seconds / 1e6 : 0;
}

/**
 * Mbit/s over the second half of a transfer's time, from the receiver's (time ms, bytes so far)
 * samples: start-up (slow start, a tunnel's first rounds) is behind it by then, so this is close
 * to the rate the transfer settled at. Linear between samples; 0 for a zero-length run.
 */
export function secondHalfMbps(samples: ReadonlyArray<readonly [number, number]>, startMs: number, endMs: number, endBytes: number): number {
  if (!(endMs > startMs)) return 0;
  const mid = (startMs + endMs) / 2;
  const points: Array<readonly [number, number]> = [[startMs, 0], ...samples.filter(([t]) => t > startMs && t < endMs), [endMs, endBytes]];
  let atMid = endBytes;
  for (let i = 1; i < points.length; i++) {
    const [t1, b1] = points[i];
    if (t1 >= mid) {
      const [t0, b0] = points[i - 1];
      atMid = t1 === t0 ? b1 : b0 + ((b1 - b0) * (mid - t0)) / (t1 - t0);
      break;
    }
  }
  return goodputMbps(endBytes - atMid, (endMs - mid) / 1000);
}

/**
 * Mean fraction of packets a link drops on the wire: independent loss and Gilbert-Elliott loss
 * act one after the other, so the survivors are (1 - lossRate) * (1 - burst mean).
 */
export function wireLossRate(link: LinkConfig): number {
  return 1 - (1 - (link.lossRate ?? 0)) * (1 - (link.burstLoss?.meanLossRate ?? 0));
}

/**
 * The most a transport can deliver over `links` used together: the sum of C * (1 - p), capacity
 * times the fraction that survives the wire. Header bytes count against C, so even a perfect
 * transport lands a few percent below it. Infinity when a link has no rate cap.
 */
export function linkLimitMbps(links: LinkConfig[]): number {
  let sum = 0;
  for (const link of links) {
    const rate = link.rateMbps ?? 0;
    if (rate <= 0) return Infinity;
    sum += rate * (1 - wireLossRate(link));
  }
  return sum;
}

/**
 * The q-quantile (0..1) of `values` by the nearest-rank method: the smallest value with at least
 * q of the values at or below it, so p100 is the maximum and p0 the minimum. Values may be
 * Infinity (a chunk that never arrived). NaN for an empty list. Sorts a copy: O(n log n).
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return quantileSorted(sorted, q);
}

/** {@link quantile} of an ascending list, O(1). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Playback stalls of a constant-bit-rate stream; see {@link playoutStalls}. */
export interface StallReport {
  /** Times the player ran dry and had to rebuffer. */
  stalls: number;
  /** Total time spent rebuffering, ms (Infinity when a chunk never came). */
  stalledMs: number;
}

/**
 * Replays a constant-bit-rate stream (chunk i sent at i * intervalMs, `delays[i]` ms on its way,
 * Infinity if it never arrived) through a player that starts `bufferMs` behind the sender and
 * plays chunks in order. A chunk not there when due is a stall: like a real player, it waits
 * until it has `bufferMs` of stream again (that chunk and the ones after it), resumes, and plays
 * everything after it that much later. So one outage is one stall, however many chunks it delays.
 */
export function playoutStalls(delays: readonly number[], bufferMs: number, intervalMs: number): StallReport {
  const refill = Math.max(1, Math.ceil(bufferMs / intervalMs));
  let slide = 0;
  let stalls = 0;
  for (let i = 0; i < delays.length; i++) {
    const due = i * intervalMs + bufferMs + slide;
    const arrival = i * intervalMs + delays[i];
    if (arrival <= due) continue;
    stalls++;
    let resume = arrival;
    for (let j = i + 1; j < Math.min(delays.length, i + refill); j++) resume = Math.max(resume, j * intervalMs + delays[j]);
    slide += resume - due;
    if (!Number.isFinite(slide)) break;
  }
  return { stalls, stalledMs: slide };
}

/** Summary of one constant-bit-rate run's delivery delays. */
export interface DelaySummary {
  chunks: number;
  delivered: number;
  /** ms; Infinity when more than that share of chunks never arrived. */
  p50: number;
  p99: number;
  max: number;
  stalls: number;
  stalledMs: number;
}

/**
 * Percentiles and stalls of a constant-bit-rate run with a chunk every `intervalMs`: `delays[i]`
 * is chunk i's delay in ms, or null if it never arrived (counted as infinitely late, so lost chunks push the tail up rather
 * than vanish from it).
 */
export function summarizeDelays(delays: readonly (number | null)[], bufferMs: number, intervalMs: number): DelaySummary {
  const asNumbers = delays.map((d) => (d === null ? Infinity : d));
  const sorted = [...asNumbers].sort((a, b) => a - b);
  const { stalls, stalledMs } = playoutStalls(asNumbers, bufferMs, intervalMs);
  return {
    chunks: delays.length,
    delivered: delays.reduce<number>((n, d) => (d === null ? n : n + 1), 0),
    p50: quantileSorted(sorted, 0.5),
    p99: quantileSorted(sorted, 0.99),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1],
    stalls,
    stalledMs,
  };
}

/**
 * Points of the empirical CDF of `delays` (null = never arrived, which keeps the curve below 1),
 * thinned to at most `maxPoints` steps so a plot stays small: [delay ms, fraction delivered by
 * then], ascending.
 */
export function delayCdf(delays: readonly (number | null)[], maxPoints = 200): Array<[number, number]> {
  const got = delays.filter((d): d is number => d !== null).sort((a, b) => a - b);
  const n = delays.length;
  if (got.length === 0) return [];
  const step = Math.max(1, Math.ceil(got.length / maxPoints));
  const points: Array<[number, number]> = [];
  const last = got.length - 1;
  for (let i = step - 1; i < last; i += step) points.push([got[i], (i + 1) / n]);
  points.push([got[last], got.length / n]);
  return points;
}
