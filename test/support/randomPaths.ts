/**
 * Seeded random paths over the whole space a relay may meet (issue 17): RTT 1-300 ms, no rate
 * cap or 10-1000 Mbit/s, queues of 5-200 ms, random loss 0-10% or Gilbert-Elliott bursts,
 * jitter 0-20 ms with or without reordering, one path or two of different shapes. For each, a
 * live stream at 20-80% of the capacity left after loss (60 Mbit/s when uncapped) and a bulk
 * transfer, both on modelled hosts, and the checks a viewer would make.
 */
import { SeededRng } from '../../src/base/rng.ts';
import type { HostConfig } from '../../src/sim/host.ts';
import type { LinkConfig } from '../../src/sim/link.ts';
import type { PathSpec } from '../../src/sim/network.ts';
import { runBulk } from './bulk.ts';
import { percentile, runCbr } from './cbr.ts';

const MiB = 1024 * 1024;
/** A relay's per-packet costs as profiled (see test/session/host.test.ts), with rare stalls. */
export const SOAK_HOST: HostConfig = { rxCostMs: 0.015, txCostMs: 0.018, timerLagMs: 0.1, rxBufferBytes: 4 * MiB, pause: { everyMs: 500, lengthMs: 10 } };

export interface RandomPath {
  seed: number;
  description: string;
  paths: PathSpec[];
  /** One-way delay of the slowest path, without queueing. */
  oneWayMs: number;
  /** Sum over paths of rate * (1 - loss), Mbit/s; Infinity when uncapped. */
  capacityMbps: number;
  streamMbps: number;
}

function draw(rng: SeededRng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.next();
}

function randomLink(rng: SeededRng): { link: LinkConfig; loss: number; label: string } {
  const rttMs = Math.exp(draw(rng, Math.log(1), Math.log(300)));
  const capped = rng.next() < 0.8;
  const rateMbps = capped ? Math.round(Math.exp(draw(rng, Math.log(10), Math.log(1000)))) : undefined;
  const queueMs = Math.round(draw(rng, 5, 200));
  const lossKind = rng.next();
  const loss = lossKind < 0.25 ? 0 : draw(rng, 0.001, 0.1);
  const bursty = lossKind >= 0.25 && rng.next() < 0.4;
  const jitterMs = rng.next() < 0.5 ? 0 : draw(rng, 0, 20);
  const reorder = jitterMs > 0 && rng.next() < 0.5;
  const link: LinkConfig = {
    delayMs: rttMs / 2,
    rateMbps,
    queueMs: capped ? queueMs : undefined,
    lossRate: bursty ? undefined : loss,
    burstLoss: bursty ? { meanLossRate: loss, meanBurstLength: Math.round(draw(rng, 2, 8)) } : undefined,
    jitterMs: jitterMs > 0 ? jitterMs : undefined,
    reorder: reorder || undefined,
  };
  const label =
    `rtt ${rttMs.toFixed(0)} ms, ${capped ? `${rateMbps} Mbit/s, queue ${queueMs} ms` : 'uncapped'}, ` +
    `${bursty ? 'bursty ' : ''}loss ${(loss * 100).toFixed(1)}%` +
    (jitterMs > 0 ? `, jitter ${jitterMs.toFixed(0)} ms${reorder ? ' reordering' : ''}` : '');
  return { link, loss, label };
}

/** The `seed`-th random path set. */
export function randomPath(seed: number): RandomPath {
  const rng = new SeededRng(seed * 7919 + 17);
  const count = rng.next() < 0.3 ? 2 : 1;
  const drawn = Array.from({ length: count }, () => randomLink(rng));
  const paths = drawn.map((d) => ({ aToB: { ...d.link }, bToA: { ...d.link } }));
  const capacityMbps = drawn.reduce((sum, d) => sum + (d.link.rateMbps ?? Infinity) * (1 - d.loss), 0);
  const share = draw(rng, 0.2, 0.8);
  return {
    seed,
    description: drawn.map((d) => d.label).join(' + '),
    paths,
    oneWayMs: Math.max(...drawn.map((d) => d.link.delayMs + (d.link.jitterMs ?? 0))),
    capacityMbps,
    streamMbps: Number.isFinite(capacityMbps) ? Math.max(1, Math.min(60, share * capacityMbps)) : 60,
  };
}

export interface SoakOutcome {
  path: RandomPath;
  streamOk: boolean;
  /** Worst chunk delay after the first second, minus the path's one-way delay, ms. */
  streamExcessMs: number;
  streamP99Ms: number;
  chunksReceived: number;
  chunksSent: number;
  bulkMbps: number;
  /** Bulk goodput over capacity after loss (NaN when uncapped or above 200 Mbit/s). */
  bulkShare: number;
  bulkOk: boolean;
  intact: boolean;
}

/** Excess delay allowed over the one-way delay for every chunk after the first second. */
export const STREAM_EXCESS_MS = 150;
/** Bulk must reach this share of capacity after loss, on paths up to 200 Mbit/s. */
export const BULK_SHARE = 0.85;

/** A soak's bulk transfer: `seconds` at `mbps`, kept within 8-128 MiB. */
export function bulkBytesAt(mbps: number, seconds: number): number {
  return Math.min(128 * MiB, Math.max(8 * MiB, Math.round((mbps * 1e6 * seconds) / 8)));
}

/**
 * Runs the stream and the bulk transfer of one random path. `streamMs` sizes the stream; the
 * bulk transfer carries `bulkSeconds` of the path's capacity (8-128 MiB; 64 MiB uncapped), so
 * that start-up does not decide its goodput.
 */
export function soakOne(seed: number, opts: { streamMs: number; bulkSeconds: number; reverse?: boolean }): SoakOutcome {
  const path = randomPath(seed);
  const bulkBytes = Number.isFinite(path.capacityMbps) ? bulkBytesAt(path.capacityMbps, opts.bulkSeconds) : 64 * MiB;
  const cbr = runCbr({ paths: path.paths, seed, rateMbps: path.streamMbps, durationMs: opts.streamMs, fec: true, host: SOAK_HOST });
  const intervalMs = (16 * 1024 * 8) / (path.streamMbps * 1000);
  const afterFirstSecond = cbr.delays.filter((_, i) => i * intervalMs >= 1000);
  const streamExcessMs = Math.max(0, ...afterFirstSecond) - path.oneWayMs;
  const streamOk = !cbr.corrupt && cbr.chunksReceived === cbr.chunksSent && streamExcessMs <= STREAM_EXCESS_MS;
  const bulk = runBulk({ paths: path.paths, seed, bytes: bulkBytes, limitMs: 120_000, fec: true, host: SOAK_HOST, reverse: opts.reverse });
  // From the first byte written, as on real relays (bench/realSoak.ts): the handshake is the session's, once.
  const bulkMbps = bulk.fin ? (bulk.delivered * 8) / (bulk.finishedAtMs - bulk.startedAtMs) / 1000 : 0;
  const judged = Number.isFinite(path.capacityMbps) && path.capacityMbps <= 200;
  const bulkShare = judged ? bulkMbps / path.capacityMbps : NaN;
  return {
    path,
    streamOk,
    streamExcessMs,
    streamP99Ms: percentile(cbr.delays, 99),
    chunksReceived: cbr.chunksReceived,
    chunksSent: cbr.chunksSent,
    bulkMbps,
    bulkShare,
    bulkOk: bulk.fin && bulk.corruptAt < 0 && (!judged || bulkShare >= BULK_SHARE),
    intact: !cbr.corrupt && bulk.corruptAt < 0,
  };
}

/** One line for a report. */
export function describeOutcome(o: SoakOutcome): string {
  return (
    `seed ${o.path.seed} [${o.path.description}]: stream ${o.path.streamMbps.toFixed(0)} Mbit/s ${o.chunksReceived}/${o.chunksSent} chunks, ` +
    `worst +${o.streamExcessMs.toFixed(0)} ms over one-way, p99 ${o.streamP99Ms.toFixed(0)} ms${o.streamOk ? '' : ' FAIL'}; ` +
    `bulk ${o.bulkMbps.toFixed(1)} Mbit/s${Number.isNaN(o.bulkShare) ? '' : ` (${(o.bulkShare * 100).toFixed(0)}% of capacity)`}${o.bulkOk ? '' : ' FAIL'}`
  );
}
