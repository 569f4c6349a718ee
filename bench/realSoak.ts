/**
 * The no-collapse property over seeded random paths, on REAL relay processes (issue 17): the
 * paths of `bench/simSoak.ts` (the same `randomPath(seed)`, so seed N here is seed N there), each
 * carried by a fresh `bin/bering relay` pair (entry and exit, separate processes, warm-up left at
 * its default) joined through one impairment proxy per path, with the bench's workload endpoints
 * (`bench/endpoint.ts`) as viewer and service. Per run, one direction (odd seeds service -> viewer,
 * even seeds viewer -> service, to halve the time): a 64 KiB warm-up transfer, 4 s of idle
 * session, a live stream of stamped 16 KiB chunks at the drawn share of the capacity left after
 * loss (60 Mbit/s uncapped), then a bulk transfer.
 *
 *   npx tsx bench/realSoak.ts [--runs 100] [--seed 1] [--seconds 12] [--bulk-seconds N] [--out FILE.json] [--breakdown DIR]
 *
 * `--seconds` is a run's workload time: the stream lasts half of it, and the bulk transfer carries
 * the other half's worth of the path's capacity (8-128 MiB; `--bulk-seconds` sets that part alone:
 * 10 is simSoak's default, whose start-up weighs less). A run passes when the stream arrives
 * intact (every chunk's sequence stamp in place) and complete, no 3-second window after the first
 * second delivers under 70% of its send rate (that would be a collapse), every chunk after the
 * first second is within the path's one-way delay + 150 ms, and the bulk transfer arrives whole
 * (every byte, then a clean end), at 85% of C(1-p) or more on paths up to 200 Mbit/s. Prints a
 * line per run, then every run worst first and a summary; exits 1 if any run failed. With
 * `--breakdown DIR` the relays trace their stream bytes into DIR/seed-N, and each run's stream
 * delay is split by stage there (bench/delayBreakdown.ts: breakdown.txt and a plot).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { killAllChildren } from '../src/lab/children.ts';
import type { LinkStats } from '../src/sim/link.ts';
import { BULK_SHARE, bulkBytesAt, randomPath, STREAM_EXCESS_MS, type RandomPath } from '../test/support/randomPaths.ts';
import { startBering } from './beringHarness.ts';
import { breakDownRelays, saveBreakdown, stampedChunks, TRACE_FLUSH_WAIT_MS } from './delayBreakdown.ts';
import { finishTransfer, WARMUP_BYTES, type Harness } from './harness.ts';
import { cpuSeconds, udpSocketDrops } from './procStats.ts';
import { requireWholeNumbers, runScript, temporaryKeyFile } from './scriptSupport.ts';
import { goodputMbps, quantileSorted, secondHalfMbps, transferEndAt } from './stats.ts';
import { cbrIntervalMs, monotonicMs, type ReceiveResult, type WorkloadSpec } from './workload.ts';

const MiB = 1024 * 1024;
/** The live stream's chunk, as in `bench/liveProbe.ts` and the bench's stream workload. */
export const CHUNK_BYTES = 16 * 1024;
/** The start-up second, excluded from the delay and rate checks. */
export const FIRST_SECOND_MS = 1000;
/** A collapse: over some window this long after the first second, ... */
export const COLLAPSE_WINDOW_MS = 3000;
/** ... the stream delivered under this share of its send rate. */
export const COLLAPSE_SHARE = 0.7;
/** Bulk is judged against C(1-p) on paths up to this capacity (above it the host is the limit). */
export const JUDGED_UP_TO_MBPS = 200;
/** A chunk still missing this long after the stream's last one is due counts as never delivered. */
const STREAM_GRACE_MS = 5000;
/** Pause between workloads, so the path's queues drain. */
const SETTLE_MS = 300;
/**
 * The session sits idle this long (keep-alives only) between the warm-up transfer and the stream,
 * as when a viewer presses play a while after the relays came up: three keep-alive rounds once
 * ended start-up on a 0.06 Mbit/s estimate, which a stream started right after setup never met.
 */
const IDLE_BEFORE_STREAM_MS = 4000;
/** Below this idle share of the machine's CPU a failure is flagged as possibly the host's, not the relays'. */
const HOST_SATURATED_IDLE = 0.05;
/** The longest the soak waits for the relays to finish their warm-up. */
const IDLE_WAIT_MS = 10_000;

/** What the stream's delays say against the criteria. */
export interface StreamJudgement {
  chunks: number;
  delivered: number;
  /** Chunks due after the first second: their delay minus the path's one-way delay, ms (Infinity if one is missing). */
  overOneWayMs: { p50: number; p99: number; max: number };
  /** Chunks due after the first second that came later than one-way + 150 ms, or never. */
  late: number;
  /** The first of them: its index and how far over the one-way delay it came (Infinity: never). */
  firstLate: { index: number; overMs: number } | null;
  /** The lowest delivered rate over a window after the first second, as a share of the send rate, and where it starts (ms after the first chunk was due). */
  minWindowShare: number;
  minWindowAtMs: number;
  collapse: boolean;
  /** Per second of the stream (by due time), its latest chunk's delay over one-way, ms (Infinity: one never came). */
  worstPerSecondMs: number[];
}

/**
 * Judges a live stream: chunk i due at i * `intervalMs` (from the first), `delays[i]` ms on its way
 * or null if it never arrived. Windows of {@link COLLAPSE_WINDOW_MS} (shorter when the stream is)
 * slide in 50 ms steps over arrival times from the end of the first second to the last chunk's due
 * time; each counts the chunks that arrived in it against what the sender sent in as long.
 * O(n log n).
 */
export function judgeStream(delays: ReadonlyArray<number | null>, intervalMs: number, oneWayMs: number): StreamJudgement {
  const n = delays.length;
  const over: number[] = [];
  let late = 0;
  let firstLate: StreamJudgement['firstLate'] = null;
  for (let i = 0; i < n; i++) {
    if (i * intervalMs < FIRST_SECOND_MS) continue;
    const d = delays[i];
    const excess = d === null ? Infinity : d - oneWayMs;
    over.push(excess);
    if (excess > STREAM_EXCESS_MS) {
      late++;
      firstLate ??= { index: i, overMs: excess };
    }
  }
  over.sort((a, b) => a - b);
  const worstPerSecondMs: number[] = [];
  for (let i = 0; i < n; i++) {
    const sec = Math.floor((i * intervalMs) / 1000);
    const d = delays[i];
    worstPerSecondMs[sec] = Math.max(worstPerSecondMs[sec] ?? -Infinity, d === null ? Infinity : d - oneWayMs);
  }
  const arrivals = delays.flatMap((d, i) => (d === null ? [] : [i * intervalMs + d])).sort((a, b) => a - b);
  const durationMs = n * intervalMs;
  const windowMs = Math.min(COLLAPSE_WINDOW_MS, Math.max(intervalMs, durationMs - FIRST_SECOND_MS));
  const expected = windowMs / intervalMs;
  let minWindowShare = Infinity;
  let minWindowAtMs = FIRST_SECOND_MS;
  let lo = 0;
  let hi = 0;
  const lastFrom = Math.max(FIRST_SECOND_MS, durationMs - windowMs);
  for (let from = FIRST_SECOND_MS; from <= lastFrom + 1e-9; from += 50) {
    while (lo < arrivals.length && arrivals[lo] < from) lo++;
    while (hi < arrivals.length && arrivals[hi] < from + windowMs) hi++;
    const share = (hi - lo) / expected;
    if (share < minWindowShare) {
      minWindowShare = share;
      minWindowAtMs = from;
    }
  }
  return {
    chunks: n,
    delivered: arrivals.length,
    overOneWayMs: { p50: quantileSorted(over, 0.5), p99: quantileSorted(over, 0.99), max: over.length === 0 ? NaN : over[over.length - 1] },
    late,
    firstLate,
    minWindowShare,
    minWindowAtMs,
    collapse: minWindowShare < COLLAPSE_SHARE,
    worstPerSecondMs,
  };
}

/** Payload bytes of a random path's bulk transfer: `seconds` of its capacity (at most 200 Mbit/s of it), 8-128 MiB. */
export function bulkBytes(path: RandomPath, seconds: number): number {
  return bulkBytesAt(Math.min(path.capacityMbps, JUDGED_UP_TO_MBPS), seconds);
}

/** Data-direction link counters of one workload, summed over the paths. */
type LinkCounts = Pick<LinkStats, 'sent' | 'delivered' | 'droppedLoss' | 'droppedQueue'>;

/** What one workload produced. */
interface Measured {
  result: ReceiveResult | null;
  startedAt: number;
  /** When the time cap stopped it (null if it ended by itself). */
  stoppedAt: number | null;
  samples: Array<[number, number]>;
  /** Per path. */
  link: LinkCounts[];
  /** Datagrams the host dropped outside the link model: the proxies' sockets (emulator) and the relays' (system). */
  hostDrops: { emulator: number; system: number };
  relayCpuSeconds: { entry: number | null; exit: number | null };
  /** The machine's idle share of CPU time over the workload (every core; null without /proc/stat). */
  hostIdle: number | null;
  /** The same, per second from the start of the workload. */
  hostIdlePerSecond: number[];
}

/** Everything one run recorded (the --out JSON holds a list of these). */
export interface RunRecord {
  seed: number;
  direction: 'down' | 'up';
  path: string;
  paths: number;
  oneWayMs: number;
  capacityMbps: number | null;
  streamMbps: number;
  stream: (Omit<StreamJudgement, 'overOneWayMs' | 'firstLate' | 'worstPerSecondMs'> & {
    overOneWayMs: { p50: number | null; p99: number | null; max: number | null };
    /** Rounded to the ms; null: a chunk of that second never came. */
    worstPerSecondMs: Array<number | null>;
    /** CPU seconds each relay used during the stream. */
    relayCpuSeconds: { entry: number | null; exit: number | null };
    /** The machine's idle CPU share while the stream ran, overall and per second. */
    hostIdle: number | null;
    hostIdlePerSecond: number[];
    firstLate: { index: number; overMs: number | null } | null;
    error: string | null;
    /** Per path, the share of the stream's data-direction packets it delivered. */
    pathShares: number[];
    link: LinkCounts;
    hostDrops: Measured['hostDrops'];
  }) | null;
  bulk: {
    bytes: number;
    received: number;
    complete: boolean;
    error: string | null;
    seconds: number;
    mbps: number;
    secondHalfMbps: number;
    /** mbps / C(1-p); null when not judged (uncapped or above 200 Mbit/s). */
    share: number | null;
    /** The machine's idle CPU share while it ran. */
    hostIdle: number | null;
    link: LinkCounts;
    hostDrops: Measured['hostDrops'];
  } | null;
  passed: boolean;
  collapse: boolean;
  /** A workload that failed ran with the machine's CPU under 5% idle: the host may be to blame. */
  hostSaturated: boolean;
  reasons: string[];
  wallSeconds: number;
  /** From the start of the run to the tunnel up (processes started, session up). */
  setupSeconds: number | null;
  /** How long the relays took to go idle (their warm-up) after that; {@link IDLE_WAIT_MS} at most. */
  idleWaitSeconds: number | null;
  loadAverage: number;
}

/**
 * Runs one workload to its end or `capMs` after the viewer connected, then stops it; the receiver
 * reports what arrived either way.
 */
async function measure(h: Harness, id: string, spec: WorkloadSpec, capMs: number): Promise<Measured> {
  const receiver = spec.direction === 'down' ? h.viewer : h.service;
  const dataDir = spec.direction === 'down' ? 'bToA' : 'aToB';
  const relayPids = h.relays === null ? [] : [h.relays.entry.pid!, h.relays.exit.pid!];
  const drops = (): { emulator: number; system: number } => ({ emulator: udpSocketDrops([process.pid]), system: udpSocketDrops(relayPids) });
  const linkBefore = h.paths.map((p) => p.stats()[dataDir]);
  const drops0 = drops();
  const cpu = (pid: number | undefined): number | null => (pid === undefined ? null : cpuSeconds(pid));
  const cpu0 = { entry: cpu(h.relays?.entry.pid), exit: cpu(h.relays?.exit.pid) };
  const host0 = hostCpuTicks();
  const hostIdlePerSecond: number[] = [];
  let lastTicks = host0;
  const sampler = setInterval(() => {
    const t = hostCpuTicks();
    if (t !== null && lastTicks !== null && t.total > lastTicks.total) hostIdlePerSecond.push(Number(((t.idle - lastTicks.idle) / (t.total - lastTicks.total)).toFixed(2)));
    lastTicks = t;
  }, 1000);
  let startedAt: number;
  let stoppedAt: number | null;
  let result: ReceiveResult | null;
  try {
    h.viewer.send({ op: 'connect', id, target: h.target, spec });
    startedAt = await h.viewer.started(id, 10_000);
    ({ result, stoppedAt } = await finishTransfer(h, receiver, id, startedAt + capMs - monotonicMs()));
  } finally {
    clearInterval(sampler);
  }
  const drops1 = drops();
  const cpu1 = { entry: cpu(h.relays?.entry.pid), exit: cpu(h.relays?.exit.pid) };
  const host1 = hostCpuTicks();
  const used = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : Number((b - a).toFixed(2)));
  const samples = receiver.samples.get(id) ?? [];
  receiver.samples.delete(id);
  const link = h.paths.map((p, i) => {
    const a = p.stats()[dataDir];
    const b = linkBefore[i];
    return { sent: a.sent - b.sent, delivered: a.delivered - b.delivered, droppedLoss: a.droppedLoss - b.droppedLoss, droppedQueue: a.droppedQueue - b.droppedQueue };
  });
  return { result, startedAt, stoppedAt, samples, link, hostDrops: { emulator: drops1.emulator - drops0.emulator, system: drops1.system - drops0.system },
    relayCpuSeconds: { entry: used(cpu0.entry, cpu1.entry), exit: used(cpu0.exit, cpu1.exit) },
    hostIdle: host0 === null || host1 === null || host1.total === host0.total ? null : (host1.idle - host0.idle) / (host1.total - host0.total),
    hostIdlePerSecond,
  };
}

/** Idle and total CPU ticks of the whole machine so far (the `cpu` line of /proc/stat), or null. */
function hostCpuTicks(): { idle: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    return { idle: fields[3] + fields[4], total: fields.reduce((a, b) => a + b, 0) };
  } catch {
    return null;
  }
}

function sumLinks(links: LinkCounts[]): LinkCounts {
  return links.reduce((s, l) => ({ sent: s.sent + l.sent, delivered: s.delivered + l.delivered, droppedLoss: s.droppedLoss + l.droppedLoss, droppedQueue: s.droppedQueue + l.droppedQueue }), {
    sent: 0,
    delivered: 0,
    droppedLoss: 0,
    droppedQueue: 0,
  });
}

/**
 * Waits until both relays are idle (under 30 ms of CPU together per 250 ms), at most `maxMs`: a
 * relay spends about a second of CPU warming its data path up after it starts, and the bench
 * measures what a viewer sees once it is warm.
 */
export async function relaysIdle(h: Harness, maxMs: number): Promise<number> {
  const start = performance.now();
  if (h.relays === null) return 0;
  const pids = [h.relays.entry.pid!, h.relays.exit.pid!];
  const cpu = (): number => pids.reduce((s, pid) => s + (cpuSeconds(pid) ?? 0), 0);
  const until = performance.now() + maxMs;
  let last = cpu();
  while (performance.now() < until) {
    await sleep(250);
    const now = cpu();
    if (now - last < 0.03) break;
    last = now;
  }
  return (performance.now() - start) / 1000;
}

/** Notes that the host had next to no idle CPU while a workload that failed ran (reasons from index `since` on are that workload's). */
function saturated(record: RunRecord, what: string, idle: number | null, since: number): void {
  if (record.reasons.length > since && idle !== null && idle < HOST_SATURATED_IDLE) {
    record.hostSaturated = true;
    record.reasons.push(`(host saturated during the ${what}: ${(idle * 100).toFixed(0)}% idle)`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** The harness of the run in progress, for Ctrl-C. */
let current: Harness | null = null;

/** One random path: set up, warm up, the stream, the bulk transfer, judged; everything closed after. */
export async function soakRun(seed: number, opts: { streamSeconds: number; bulkSeconds: number; keyFile: string; breakdownDir?: string }): Promise<RunRecord> {
  const t0 = performance.now();
  const path = randomPath(seed);
  const direction = seed % 2 === 1 ? 'down' : 'up';
  const capped = Number.isFinite(path.capacityMbps);
  const record: RunRecord = {
    seed,
    direction,
    path: path.description,
    paths: path.paths.length,
    oneWayMs: path.oneWayMs,
    capacityMbps: capped ? path.capacityMbps : null,
    streamMbps: path.streamMbps,
    stream: null,
    bulk: null,
    passed: false,
    collapse: false,
    hostSaturated: false,
    reasons: [],
    wallSeconds: 0,
    setupSeconds: null,
    idleWaitSeconds: null,
    loadAverage: os.loadavg()[0],
  };
  const streamMs = opts.streamSeconds * 1000;
  let harness: Harness | null = null;
  try {
    const traceDir = opts.breakdownDir === undefined ? undefined : join(opts.breakdownDir, `seed-${seed}`);
    if (traceDir !== undefined) mkdirSync(traceDir, { recursive: true });
    harness = await startBering({ paths: path.paths, seed, keyFile: opts.keyFile, extraFlags: [], traceDir });
    current = harness;
    record.setupSeconds = (performance.now() - t0) / 1000;
    record.idleWaitSeconds = await relaysIdle(harness, IDLE_WAIT_MS);
    const warm = await measure(harness, `${seed}/warm-up`, { kind: 'bulk', direction, bytes: WARMUP_BYTES }, 20_000);
    if (warm.result?.complete !== true) throw new Error(`warm-up transfer failed: ${warm.result?.error ?? 'no data within 20 s'}`);
    await sleep(IDLE_BEFORE_STREAM_MS);

    const spec: WorkloadSpec = { kind: 'cbr', direction, rateMbps: path.streamMbps, chunkBytes: CHUNK_BYTES, durationMs: streamMs };
    const intervalMs = cbrIntervalMs({ rateMbps: path.streamMbps, chunkBytes: CHUNK_BYTES });
    const s = await measure(harness, `${seed}/stream`, spec, streamMs + STREAM_GRACE_MS);
    if (s.result === null) throw new Error('the stream receiver never reported');
    const delays = s.result.delays ?? [];
    const j = judgeStream(delays, intervalMs, path.oneWayMs);
    const delivered = sumLinks(s.link).delivered;
    record.stream = {
      ...j,
      overOneWayMs: { p50: finiteOrNull(j.overOneWayMs.p50), p99: finiteOrNull(j.overOneWayMs.p99), max: finiteOrNull(j.overOneWayMs.max) },
      firstLate: j.firstLate === null ? null : { index: j.firstLate.index, overMs: finiteOrNull(j.firstLate.overMs) },
      worstPerSecondMs: j.worstPerSecondMs.map((v) => finiteOrNull(Math.round(v))),
      relayCpuSeconds: s.relayCpuSeconds,
      hostIdle: s.hostIdle,
      hostIdlePerSecond: s.hostIdlePerSecond,
      error: s.result.error,
      pathShares: s.link.map((l) => (delivered === 0 ? 0 : l.delivered / delivered)),
      link: sumLinks(s.link),
      hostDrops: s.hostDrops,
    };
    record.collapse = j.collapse;
    if (s.result.error !== null) record.reasons.push(`stream broke: ${s.result.error}`);
    if (j.delivered < j.chunks) record.reasons.push(`stream: ${j.chunks - j.delivered} of ${j.chunks} chunks never arrived`);
    if (j.collapse) record.reasons.push(`COLLAPSE: ${(j.minWindowShare * 100).toFixed(0)}% of the send rate over ${(COLLAPSE_WINDOW_MS / 1000).toFixed(0)} s from ${(j.minWindowAtMs / 1000).toFixed(1)} s`);
    if (j.firstLate !== null) {
      const f = j.firstLate;
      const when = `chunk ${f.index} (due at ${((f.index * intervalMs) / 1000).toFixed(2)} s)`;
      const perSecond = j.worstPerSecondMs.map((v) => (Number.isFinite(v) ? v.toFixed(0) : 'never')).join(',');
      record.reasons.push(`${j.late} chunks late, first ${when} ${Number.isFinite(f.overMs) ? `+${f.overMs.toFixed(0)} ms over one-way` : 'never'} (worst per second: ${perSecond} ms; host idle per second: ${s.hostIdlePerSecond.map((v) => `${(v * 100).toFixed(0)}%`).join(',')})`);
    }
    saturated(record, 'stream', s.hostIdle, 0);
    if (traceDir !== undefined) await writeStreamBreakdown(traceDir, direction, s, `Worst chunk per second by stage, seed ${seed} ${direction}`);
    await sleep(SETTLE_MS);

    const reasonsBeforeBulk = record.reasons.length;
    const bytes = bulkBytes(path, opts.bulkSeconds);
    const paceMbps = Math.min(capped ? path.capacityMbps : Infinity, JUDGED_UP_TO_MBPS);
    const capMs = Math.max(10_000, (3 * bytes * 8) / (paceMbps * 1000));
    const b = await measure(harness, `${seed}/bulk`, { kind: 'bulk', direction, bytes }, capMs);
    if (b.result === null) throw new Error('the bulk receiver never reported');
    const end = transferEndAt(b.result, b.stoppedAt, b.startedAt);
    const seconds = (end - b.startedAt) / 1000;
    const mbps = goodputMbps(b.result.bytes, seconds);
    const judged = capped && path.capacityMbps <= JUDGED_UP_TO_MBPS;
    const share = judged ? mbps / path.capacityMbps : null;
    record.bulk = {
      bytes,
      received: b.result.bytes,
      complete: b.result.complete,
      error: b.result.error,
      seconds,
      mbps,
      secondHalfMbps: secondHalfMbps(b.samples, b.startedAt, end, b.result.bytes),
      share,
      hostIdle: b.hostIdle,
      link: sumLinks(b.link),
      hostDrops: b.hostDrops,
    };
    if (b.result.error !== null) record.reasons.push(`bulk broke after ${(b.result.bytes / MiB).toFixed(1)} MiB: ${b.result.error}`);
    else if (!b.result.complete || b.result.bytes !== bytes) record.reasons.push(`bulk: ${(b.result.bytes / MiB).toFixed(1)} of ${(bytes / MiB).toFixed(1)} MiB by the ${(capMs / 1000).toFixed(0)} s cap`);
    if (share !== null && share < BULK_SHARE) record.reasons.push(`bulk ${(share * 100).toFixed(1)}% of C(1-p) < ${BULK_SHARE * 100}%`);
    saturated(record, 'bulk', b.hostIdle, reasonsBeforeBulk);

    const deaths = harness.deaths();
    if (deaths !== null) record.reasons.push(`relay died: ${deaths}`);
    const emulatorDrops = s.hostDrops.emulator + b.hostDrops.emulator;
    if (record.reasons.length > 0 && emulatorDrops > 0) record.reasons.push(`(the bench host dropped ${emulatorDrops} datagrams outside the link model)`);
  } catch (err) {
    const deaths = harness?.deaths() ?? null;
    record.reasons.push([message(err), deaths].filter((m) => m !== null).join('; '));
  } finally {
    current = null;
    await harness?.close();
  }
  record.passed = record.reasons.length === 0;
  record.wallSeconds = (performance.now() - t0) / 1000;
  return record;
}

const ms = (v: number | null | undefined): string => (v === null || v === undefined ? 'never' : `${v >= 0 ? '+' : ''}${v.toFixed(0)}`);

/** One line for a run. */
export function describeRun(r: RunRecord): string {
  const s = r.stream;
  const stream =
    s === null
      ? 'stream not run'
      : `stream ${r.streamMbps.toFixed(1)} Mbit/s ${s.delivered}/${s.chunks}, over one-way p50 ${ms(s.overOneWayMs.p50)} p99 ${ms(s.overOneWayMs.p99)} max ${ms(s.overOneWayMs.max)} ms, worst 3-s rate ${(s.minWindowShare * 100).toFixed(0)}%`;
  const b = r.bulk;
  const bulk = b === null ? 'bulk not run' : `bulk ${b.mbps.toFixed(1)} Mbit/s${b.share === null ? ' (not judged)' : ` = ${(b.share * 100).toFixed(0)}% of C(1-p)`}`;
  const verdict = r.passed ? 'PASS' : `FAIL: ${r.reasons.join('; ')}`;
  const idle = (v: number | null | undefined): string => (v === null || v === undefined ? '?' : `${(v * 100).toFixed(0)}%`);
  const host = `${r.wallSeconds.toFixed(1)} s (setup ${r.setupSeconds?.toFixed(1) ?? '?'} s, relays idle after ${r.idleWaitSeconds?.toFixed(1) ?? '?'} s), load ${r.loadAverage.toFixed(1)}, host idle ${idle(s?.hostIdle)} in the stream, ${idle(b?.hostIdle)} in bulk`;
  return `seed ${r.seed} ${r.direction.padEnd(4)} [${r.path}]: ${stream}; ${bulk}; ${verdict} (${host})`;
}

/** Worst first: failures (collapses first), then by the stream's worst chunk over one-way, then by bulk share. */
export function worstFirst(records: RunRecord[]): RunRecord[] {
  const excess = (r: RunRecord): number => (r.stream === null ? Infinity : (r.stream.overOneWayMs.max ?? Infinity));
  return [...records].sort(
    (a, b) =>
      Number(b.collapse) - Number(a.collapse) ||
      Number(a.passed) - Number(b.passed) ||
      excess(b) - excess(a) ||
      (a.bulk?.share ?? Infinity) - (b.bulk?.share ?? Infinity),
  );
}

/** Splits the stream's delay by stage from both relays' traces, into `dir` (see bench/delayBreakdown.ts). */
async function writeStreamBreakdown(dir: string, direction: 'down' | 'up', s: Measured, title: string): Promise<void> {
  const chunks = stampedChunks(s.result?.delays ?? [], s.result?.stamps ?? []);
  await sleep(TRACE_FLUSH_WAIT_MS);
  try {
    saveBreakdown(dir, breakDownRelays(dir, direction, chunks, CHUNK_BYTES, s.startedAt), title);
  } catch (err) {
    console.log(`no delay breakdown in ${dir}: ${(err as Error).message}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '100' },
      seed: { type: 'string', default: '1' },
      seconds: { type: 'string', default: '12' },
      'bulk-seconds': { type: 'string' },
      out: { type: 'string' },
      breakdown: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const first = Number(values.seed);
  const seconds = Number(values.seconds);
  requireWholeNumbers([['--runs', runs, 1], ['--seed', first, 0], ['--seconds', seconds, 2]]);
  const streamSeconds = seconds / 2;
  const bulkSeconds = values['bulk-seconds'] === undefined ? seconds / 2 : Number(values['bulk-seconds']);
  if (!(bulkSeconds > 0)) throw new Error(`--bulk-seconds: expected a positive number, got ${values['bulk-seconds']}`);

  const { keyFile, remove: removeKey } = temporaryKeyFile('bering-real-soak-');
  const onSignal = (signal: NodeJS.Signals): void => {
    killAllChildren();
    removeKey();
    process.stderr.write(`\nrealSoak: interrupted (${signal})\n`);
    const exit = (): never => process.exit(130);
    setTimeout(exit, 2000).unref();
    void (current?.close() ?? Promise.resolve()).finally(exit);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  console.log(
    `real-process soak: seeds ${first}-${first + runs - 1} (the paths of bench/simSoak.ts), ${streamSeconds} s stream then ${bulkSeconds} s of capacity in bulk per run; ` +
      `directions alternate (odd seeds service -> viewer, even seeds viewer -> service); ${os.availableParallelism()} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  const startedAt = new Date();
  const records: RunRecord[] = [];
  try {
    for (let seed = first; seed < first + runs; seed++) {
      const r = await soakRun(seed, { streamSeconds, bulkSeconds, keyFile, breakdownDir: values.breakdown });
      records.push(r);
      console.log(describeRun(r));
    }
  } finally {
    removeKey();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const failed = records.filter((r) => !r.passed);
  const collapses = records.filter((r) => r.collapse).length;
  const sorted = worstFirst(records);
  console.log('\nevery run, worst first:');
  for (const r of sorted) console.log(`  ${describeRun(r)}`);
  const maxOver = records.flatMap((r) => (r.stream === null ? [] : [r.stream.overOneWayMs.max ?? Infinity])).sort((a, b) => a - b);
  if (maxOver.length > 0) {
    console.log(
      `stream, worst chunk over one-way per run (ms): p50 ${ms(quantileSorted(maxOver, 0.5))}, p90 ${ms(quantileSorted(maxOver, 0.9))}, max ${ms(finiteOrNull(maxOver[maxOver.length - 1]))} (limit +${STREAM_EXCESS_MS})`,
    );
  }
  const shares = records.flatMap((r) => (r.bulk?.share == null ? [] : [r.bulk.share])).sort((a, b) => a - b);
  if (shares.length > 0) {
    const pct = (v: number): string => `${(v * 100).toFixed(0)}%`;
    console.log(`bulk on paths up to ${JUDGED_UP_TO_MBPS} Mbit/s, share of C(1-p): min ${pct(shares[0])}, p10 ${pct(quantileSorted(shares, 0.1))}, p50 ${pct(quantileSorted(shares, 0.5))} (limit ${pct(BULK_SHARE)}, ${shares.length} runs judged)`);
  }
  const wall = (Date.now() - startedAt.getTime()) / 1000;
  const saturatedFailures = failed.filter((r) => r.hostSaturated).length;
  console.log(`${records.length} runs, ${failed.length} failed, ${collapses} collapses (${saturatedFailures} of the failures with the host saturated; ${(wall / 60).toFixed(1)} min)`);

  if (values.out !== undefined) {
    const out = {
      startedAt: startedAt.toISOString(),
      wallSeconds: wall,
      seeds: { first, runs },
      streamSeconds,
      bulkSeconds,
      machine: { cpus: os.availableParallelism(), node: process.version, loadAverageAtEnd: os.loadavg() },
      criteria: { firstSecondMs: FIRST_SECOND_MS, streamExcessMs: STREAM_EXCESS_MS, collapseWindowMs: COLLAPSE_WINDOW_MS, collapseShare: COLLAPSE_SHARE, bulkShare: BULK_SHARE, judgedUpToMbps: JUDGED_UP_TO_MBPS },
      summary: { runs: records.length, failed: failed.length, collapses, failedWithHostSaturated: saturatedFailures },
      worstFirst: sorted.map((r) => r.seed),
      results: records,
    };
    writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`results: ${values.out}`);
  }
  if (failed.length > 0) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) runScript('realSoak', main);
