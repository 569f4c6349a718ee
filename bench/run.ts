/**
 * The bench run: for each scenario and each system, set the system up on fresh emulated paths,
 * warm it up, run each workload with CPU counted on the relays, and record every figure.
 */
import type { LinkStats } from '../src/sim/link.ts';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { breakDownRelays, STAGES, stampedChunks, TRACE_FLUSH_WAIT_MS, type DelayBreakdown, type Stage } from './delayBreakdown.ts';
import { finishTransfer, WARMUP_BYTES, type Harness } from './harness.ts';
import { cpuSeconds, peakRssBytes, udpSocketDrops } from './procStats.ts';
import { Progress } from './progress.ts';
import { PLAYOUT_BUFFER_MS, SCENARIOS, type Plan, type Scenario, type Workload } from './scenarios.ts';
import { delayCdf, goodputMbps, linkLimitMbps, secondHalfMbps, summarizeDelays, transferEndAt, type DelaySummary } from './stats.ts';
import { systemsFor, type SystemDef } from './systems.ts';
import { senderCongestionControl } from './tcpHarness.ts';
import { cbrIntervalMs, monotonicMs, type ReceiveResult } from './workload.ts';

/** Link counters of one direction over one workload. */
export type LinkDelta = Pick<LinkStats, 'sent' | 'delivered' | 'droppedLoss' | 'droppedQueue' | 'droppedBlackout'>;

/** Every figure of one (scenario, system, workload). */
export interface RunRecord {
  scenario: string;
  system: string;
  workload: Workload['name'];
  status: 'ok' | 'failed' | 'unavailable';
  note: string | null;
  /** Payload bytes the receiving endpoint got. */
  bytes: number | null;
  /** From the viewer's connect() to the last byte, or to the time cap. */
  seconds: number | null;
  /** False when the time cap (or a failure) ended the transfer. */
  complete: boolean | null;
  goodputMbps: number | null;
  /** Bulk: Mbit/s over the second half of the transfer's time, start-up behind it. */
  secondHalfMbps: number | null;
  /** C * (1 - p) summed over the paths this system used. */
  limitMbps: number;
  /** goodput / limit (bulk workloads). */
  ratio: number | null;
  /** CPU seconds of both relays during the workload (null for kernel TCP: it runs in the kernel). */
  relayCpuSeconds: number | null;
  cpuSecondsPerGB: number | null;
  /** Peak RSS of each relay over the whole scenario (VmHWM), MiB. */
  peakRssMiB: { entry: number; exit: number } | null;
  /** Kernel TCP: the congestion control `ss` showed on the sending socket. */
  congestionControl: string | null;
  /**
   * Workloads with a second connection alongside (a download next to the stream): what it moved
   * from its start until it was stopped when the first one ended. Its bytes count in
   * `cpuSecondsPerGB`; `bytes`, `seconds` and `goodputMbps` above are the first connection's.
   */
  alongside: { bytes: number; seconds: number; goodputMbps: number } | null;
  /** Constant-bit-rate runs: delays in ms (null = a chunk never arrived) and their CDF. */
  cbr: (Omit<DelaySummary, 'p50' | 'p99' | 'max' | 'stalledMs'> & {
    p50: number | null;
    p99: number | null;
    max: number | null;
    stalledMs: number | null;
    cdf: Array<[number, number]>;
    /**
     * bering: where the delay went, from both relays' stream traces (bench/delayBreakdown.ts);
     * null elsewhere (absent in results from before it existed).
     */
    stages?: StageFigures | null;
  }) | null;
  /** Per path, the data direction's counters over the workload. */
  link: LinkDelta[];
  /** Multipath scenarios: per path, data-direction throughput over time, [s, Mbit/s]. */
  pathSeries: Array<Array<[number, number]>> | null;
  /** CPU seconds the bench process (the link emulator, mostly) used during the workload. */
  emulatorCpuSeconds: number | null;
  /**
   * Packets lost outside the link model during the workload: by the emulation (its UDP sockets,
   * socat's, the TUN queues), which would make the figures pessimistic, and by the system's own
   * relay sockets overflowing (a relay not reading in time: part of its performance).
   */
  hostDrops: { emulator: number; system: number } | null;
}

/** A live stream's delay by stage: each stage's p50/p99/max, and the worst chunk of each second split up (ms). */
export interface StageFigures {
  summary: DelayBreakdown['summary'];
  worstPerSecond: Array<{ second: number; total: number; parts: Record<Stage, number> }>;
}

export interface BenchResults {
  mode: Plan['mode'];
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string>;
  playoutBufferMs: number;
  systems: Array<{ id: string; label: string; settings: string; available: boolean; note: string | null }>;
  scenarios: Array<{ name: string; title: string; paths: Scenario['paths']; lossPercent: number | null; blackout: NonNullable<Scenario['blackout']> | null; limitMbps: number }>;
  workloads: Workload[];
  runs: RunRecord[];
}

/** Pause between workloads, so queues on the path drain from the last one. */
const SETTLE_MS = 300;
const SAMPLE_MS = 200;
/** A second path carrying less than this share of a bulk transfer means no multipath here. */
const MULTIPATH_MIN_SHARE = 0.05;

/** Runs `plan` on `systems`, every relay with the key in `keyFile`; `machine` is recorded as given. */
export async function runBench(plan: Plan, systems: SystemDef[], machine: Record<string, string>, keyFile: string): Promise<BenchResults> {
  const startedAt = new Date();
  const scenarios = plan.scenarios.map((name) => SCENARIOS.find((s) => s.name === name)!);
  const availability = new Map<string, string | null>();
  for (const system of systems) availability.set(system.id, await system.unavailable());

  const total = scenarios.reduce((n, s) => n + systemsFor(s, systems).length * plan.workloads.length, 0);
  const progress = new Progress(total);
  const runs: RunRecord[] = [];
  try {
    for (const scenario of scenarios) {
      for (const system of systemsFor(scenario, systems)) {
        const reason = availability.get(system.id) ?? null;
        if (reason !== null) {
          for (const w of plan.workloads) runs.push(blank(scenario, system, w, 'unavailable', reason));
          progress.skip(plan.workloads.length);
          continue;
        }
        runs.push(...(await runPair(scenario, system, plan.workloads, keyFile, progress)));
      }
    }
  } finally {
    progress.stop();
  }
  return {
    mode: plan.mode,
    startedAt: startedAt.toISOString(),
    durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
    machine,
    playoutBufferMs: PLAYOUT_BUFFER_MS,
    systems: systems.map((s) => ({ id: s.id, label: s.label, settings: s.settings, available: availability.get(s.id) === null, note: availability.get(s.id) ?? null })),
    scenarios: scenarios.map((s) => ({
      name: s.name,
      title: s.title,
      paths: s.paths,
      lossPercent: s.lossPercent ?? null,
      blackout: s.blackout ?? null,
      limitMbps: linkLimitMbps(s.paths.map((p) => p.bToA)),
    })),
    workloads: plan.workloads,
    runs,
  };
}

/** One system on one scenario: set up once, then every workload in turn. */
async function runPair(scenario: Scenario, system: SystemDef, workloads: Workload[], keyFile: string, progress: Progress): Promise<RunRecord[]> {
  progress.begin(scenario.name, system.id, 'setup');
  const traceDir = mkdtempSync(join(tmpdir(), 'bering-bench-trace-'));
  let harness: Harness;
  try {
    harness = await system.start(scenario, keyFile, traceDir);
  } catch (err) {
    rmSync(traceDir, { recursive: true, force: true });
    progress.skip(workloads.length);
    return workloads.map((w) => blank(scenario, system, w, 'failed', `setup failed: ${message(err)}`));
  }
  const records: RunRecord[] = [];
  try {
    progress.begin(scenario.name, system.id, 'warm-up');
    const warm = await measure(harness, scenario, { name: 'bulk-down', spec: { kind: 'bulk', direction: 'down', bytes: WARMUP_BYTES }, capMs: 20_000 }, 'warmup', false);
    if (warm.result?.complete !== true) {
      progress.skip(workloads.length);
      const why = [warm.result?.error ?? 'no data within 20 s', harness.deaths()].filter((m) => m !== null).join('; ');
      return workloads.map((w) => blank(scenario, system, w, 'failed', `warm-up transfer failed: ${why}`));
    }
    for (const [i, workload] of workloads.entries()) {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const runId = `${scenario.name}/${system.id}/${workload.name}`;
      const received = (id: string): number => harness.viewer.progress.get(id) ?? harness.service.progress.get(id) ?? 0;
      progress.begin(scenario.name, system.id, workload.name, () => received(runId) + (workload.alongside === undefined ? 0 : received(alongsideId(runId))));
      const measured = await measure(harness, scenario, workload, runId, true);
      const record = toRecord(scenario, system, workload, measured);
      if (record.cbr !== null && existsSync(join(traceDir, 'exit.csv'))) record.cbr.stages = await stageFigures(traceDir, workload, measured);
      const deaths = harness.deaths();
      if (deaths !== null) Object.assign(record, { status: 'failed', note: [record.note, deaths].filter((n) => n !== null).join('; ') });
      records.push(record);
      progress.end();
      if (system.multipath && i === 0 && record.status === 'ok') {
        const share = secondPathShare(record.link);
        if (share < MULTIPATH_MIN_SHARE) {
          const note = `multipath not available in this build: the second path carried ${(share * 100).toFixed(1)}% of the packets`;
          for (const r of records) Object.assign(r, { status: 'unavailable', note });
          progress.skip(workloads.length - 1);
          records.push(...workloads.slice(1).map((w) => blank(scenario, system, w, 'unavailable', note)));
          break;
        }
      }
    }
    const rss = harness.relays === null ? null : { entry: peakRssBytes(harness.relays.entry.pid!), exit: peakRssBytes(harness.relays.exit.pid!) };
    const peak = rss === null || rss.entry === null || rss.exit === null ? null : { entry: rss.entry / 2 ** 20, exit: rss.exit / 2 ** 20 };
    for (const r of records) r.peakRssMiB = peak;
  } catch (err) {
    const done = new Set(records.map((r) => r.workload));
    const rest = workloads.filter((w) => !done.has(w.name));
    progress.skip(rest.length);
    const why = [message(err), harness.deaths()].filter((m) => m !== null).join('; ');
    records.push(...rest.map((w) => blank(scenario, system, w, 'failed', why)));
  } finally {
    await harness.close();
    rmSync(traceDir, { recursive: true, force: true });
  }
  return records;
}

/** The stream's delay by stage from the relays' traces; null when they do not cover it. */
async function stageFigures(traceDir: string, workload: Workload, m: Measurement): Promise<StageFigures | null> {
  const r = m.result;
  if (r === null || r.delays === undefined || r.stamps === undefined || workload.spec.kind !== 'cbr') return null;
  const chunks = stampedChunks(r.delays, r.stamps);
  if (chunks.length === 0) return null;
  await new Promise((done) => setTimeout(done, TRACE_FLUSH_WAIT_MS));
  try {
    const b = breakDownRelays(traceDir, workload.spec.direction, chunks, workload.spec.chunkBytes, m.startedAt);
    const rounded = (parts: Record<Stage, number>): Record<Stage, number> => Object.fromEntries(STAGES.map((s) => [s, round(parts[s], 1)])) as Record<Stage, number>;
    return {
      summary: b.summary,
      worstPerSecond: b.worstPerSecond.map((c) => ({ second: c.second, total: round(c.total, 1), parts: rounded(c.parts) })),
    };
  } catch {
    return null;
  }
}

/** The run id of the connection alongside run `id`. */
function alongsideId(id: string): string {
  return `${id}/alongside`;
}

/** What one workload produced, before it is turned into figures. */
interface Measurement {
  result: ReceiveResult | null;
  /** The connection alongside, if the workload has one: its result, start and when it was stopped. */
  alongside: { result: ReceiveResult | null; startedAt: number; stoppedAt: number | null } | null;
  /** The receiver's progress samples, [ms, bytes]. */
  samples: Array<[number, number]>;
  startedAt: number;
  stoppedAt: number | null;
  relayCpu: number | null;
  emulatorCpu: number;
  link: LinkDelta[];
  pathSeries: Array<Array<[number, number]>>;
  congestionControl: string | null;
  hostDrops: { emulator: number; system: number };
}

/** Runs one workload on `harness` to completion or its time cap. */
async function measure(harness: Harness, scenario: Scenario, workload: Workload, id: string, sample: boolean): Promise<Measurement> {
  const { viewer, service, relays, paths } = harness;
  const direction = workload.spec.direction;
  const receiver = direction === 'down' ? viewer : service;
  const dataDir = direction === 'down' ? 'bToA' : 'aToB';
  const cpuOf = (): number | null => {
    if (relays === null) return null;
    const a = cpuSeconds(relays.entry.pid!);
    const b = cpuSeconds(relays.exit.pid!);
    return a === null || b === null ? null : a + b;
  };
  const blackout = scenario.blackout;
  if (sample && blackout !== undefined && blackout.path < paths.length) {
    const em = paths[blackout.path];
    const from = em.now() + blackout.atMs;
    em.setConfig('aToB', { blackouts: [{ fromMs: from, toMs: from + blackout.forMs }] });
    em.setConfig('bToA', { blackouts: [{ fromMs: from, toMs: from + blackout.forMs }] });
  }
  const linkBefore = paths.map((p) => p.stats()[dataDir]);
  const series: Array<Array<[number, number]>> = paths.map(() => []);
  let last = paths.map((p) => p.stats()[dataDir].bytesDelivered);
  const t0 = monotonicMs();
  const sampler = setInterval(() => {
    const now = paths.map((p) => p.stats()[dataDir].bytesDelivered);
    const t = (monotonicMs() - t0) / 1000;
    now.forEach((b, i) => series[i].push([round(t, 2), round(goodputMbps(b - last[i], SAMPLE_MS / 1000), 2)]));
    last = now;
  }, SAMPLE_MS);
  let ccTimer: NodeJS.Timeout | undefined;
  let congestionControl: Promise<string | null> = Promise.resolve(null);
  if (relays === null && sample) {
    // Read the congestion control off the live socket once the transfer is under way.
    congestionControl = new Promise((ok) => {
      ccTimer = setTimeout(() => ok(senderCongestionControl(direction)), 1000);
    });
  }

  const dropsOf = async (): Promise<{ emulator: number; system: number }> => ({
    emulator: udpSocketDrops([process.pid, ...harness.emulatorPids()]) + (await harness.deviceDrops()),
    system: relays === null ? 0 : udpSocketDrops([relays.entry.pid!, relays.exit.pid!]),
  });
  const drops0 = await dropsOf();
  const cpu0 = cpuOf();
  const emu0 = process.cpuUsage();
  try {
    viewer.send({ op: 'connect', id, target: harness.target, spec: workload.spec });
    const second = workload.alongside;
    const secondId = alongsideId(id);
    if (second !== undefined) viewer.send({ op: 'connect', id: secondId, target: harness.target, spec: second });
    const startedAt = await viewer.started(id, 10_000);
    const secondStartedAt = second === undefined ? null : await viewer.started(secondId, 10_000);
    const { result, stoppedAt } = await finishTransfer(harness, receiver, id, startedAt + workload.capMs - monotonicMs());
    let alongside: Measurement['alongside'] = null;
    if (second !== undefined) {
      // The first connection is over: stop the one alongside (unless it already ended) and take
      // what it moved until now.
      const secondReceiver = second.direction === 'down' ? viewer : service;
      const finished = await finishTransfer(harness, secondReceiver, secondId, 0);
      secondReceiver.samples.delete(secondId);
      alongside = { ...finished, startedAt: secondStartedAt! };
    }
    const cpu1 = cpuOf();
    const emu = process.cpuUsage(emu0);
    const linkAfter = paths.map((p) => p.stats()[dataDir]);
    const drops1 = await dropsOf();
    const samples = receiver.samples.get(id) ?? [];
    receiver.samples.delete(id);
    return {
      result,
      alongside,
      samples,
      startedAt,
      stoppedAt,
      relayCpu: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
      emulatorCpu: (emu.user + emu.system) / 1e6,
      link: linkAfter.map((a, i) => delta(linkBefore[i], a)),
      pathSeries: series,
      congestionControl: await congestionControl,
      hostDrops: { emulator: drops1.emulator - drops0.emulator, system: drops1.system - drops0.system },
    };
  } finally {
    clearInterval(sampler);
    clearTimeout(ccTimer);
    if (blackout !== undefined && blackout.path < paths.length) {
      paths[blackout.path].setConfig('aToB', { blackouts: undefined });
      paths[blackout.path].setConfig('bToA', { blackouts: undefined });
    }
  }
}

function toRecord(scenario: Scenario, system: SystemDef, workload: Workload, m: Measurement): RunRecord {
  const record = blank(scenario, system, workload, 'ok', null);
  const r = m.result;
  if (r === null) return { ...record, status: 'failed', note: 'the receiving endpoint never reported' };
  const end = transferEndAt(r, m.stoppedAt, m.startedAt);
  const seconds = (end - m.startedAt) / 1000;
  const goodput = goodputMbps(r.bytes, seconds);
  record.bytes = r.bytes;
  record.seconds = seconds;
  record.complete = r.complete;
  record.goodputMbps = goodput;
  record.ratio = workload.spec.kind === 'bulk' && Number.isFinite(record.limitMbps) ? goodput / record.limitMbps : null;
  if (workload.spec.kind === 'bulk') record.secondHalfMbps = secondHalfMbps(m.samples, m.startedAt, end, r.bytes);
  const second = m.alongside?.result ?? null;
  if (m.alongside !== null && second !== null) {
    const secondEnd = transferEndAt(second, m.alongside.stoppedAt, m.alongside.startedAt);
    const secondSeconds = (secondEnd - m.alongside.startedAt) / 1000;
    record.alongside = { bytes: second.bytes, seconds: secondSeconds, goodputMbps: goodputMbps(second.bytes, secondSeconds) };
  }
  // The relays carried both connections: charge their CPU to both connections' bytes.
  const carried = r.bytes + (second?.bytes ?? 0);
  record.relayCpuSeconds = m.relayCpu;
  // Below 10 MB the 10 ms tick of /proc CPU times makes a per-GB figure mostly noise.
  record.cpuSecondsPerGB = m.relayCpu !== null && carried >= 10e6 ? m.relayCpu / (carried / 1e9) : null;
  record.congestionControl = m.congestionControl;
  record.link = m.link;
  record.pathSeries = scenario.paths.length > 1 ? m.pathSeries : null;
  record.emulatorCpuSeconds = m.emulatorCpu;
  record.hostDrops = m.hostDrops;
  if (r.delays !== undefined && workload.spec.kind === 'cbr') {
    const s = summarizeDelays(r.delays, PLAYOUT_BUFFER_MS, cbrIntervalMs(workload.spec));
    const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);
    record.cbr = {
      ...s,
      p50: finite(s.p50),
      p99: finite(s.p99),
      max: finite(s.max),
      stalledMs: finite(s.stalledMs),
      cdf: delayCdf(r.delays).map(([d, f]) => [round(d, 1), round(f, 4)]),
      stages: null,
    };
  }
  if (r.error !== null) {
    record.status = 'failed';
    record.note = `transfer broke after ${(r.bytes / 2 ** 20).toFixed(1)} MiB: ${r.error}`;
  } else if (m.alongside !== null && second === null) {
    record.status = 'failed';
    record.note = 'the receiving endpoint of the connection alongside never reported';
  } else if (second !== null && second.error !== null) {
    record.status = 'failed';
    record.note = `the connection alongside broke after ${(second.bytes / 2 ** 20).toFixed(1)} MiB: ${second.error}`;
  } else if (!r.complete && workload.spec.kind === 'bulk') {
    record.note = `time cap: ${(r.bytes / 2 ** 20).toFixed(1)} of ${(workload.spec.bytes / 2 ** 20).toFixed(0)} MiB in ${seconds.toFixed(0)} s`;
  }
  const notes = [record.note];
  if (m.hostDrops.emulator > 0) notes.push(`the bench host dropped ${m.hostDrops.emulator} packets outside the link model (emulator sockets or TUN queues): figures pessimistic`);
  if (m.hostDrops.system > 0) notes.push(`the relays' UDP sockets overflowed ${m.hostDrops.system} times (a relay did not read in time)`);
  record.note = notes.filter((n) => n !== null).join('; ') || null;
  return record;
}

function blank(scenario: Scenario, system: SystemDef, workload: Workload, status: RunRecord['status'], note: string | null): RunRecord {
  const used = system.multipath ? scenario.paths : scenario.paths.slice(0, 1);
  return {
    scenario: scenario.name,
    system: system.id,
    workload: workload.name,
    status,
    note,
    bytes: null,
    seconds: null,
    complete: null,
    goodputMbps: null,
    secondHalfMbps: null,
    limitMbps: linkLimitMbps(used.map((p) => (workload.spec.direction === 'down' ? p.bToA : p.aToB))),
    ratio: null,
    relayCpuSeconds: null,
    cpuSecondsPerGB: null,
    peakRssMiB: null,
    congestionControl: null,
    alongside: null,
    cbr: null,
    link: [],
    pathSeries: null,
    emulatorCpuSeconds: null,
    hostDrops: null,
  };
}

/** Share of delivered data-direction packets that crossed path 1 (0 with one path). */
export function secondPathShare(link: LinkDelta[]): number {
  const total = link.reduce((n, l) => n + l.delivered, 0);
  return link.length < 2 || total === 0 ? 0 : link[1].delivered / total;
}

function delta(before: LinkStats, after: LinkStats): LinkDelta {
  return {
    sent: after.sent - before.sent,
    delivered: after.delivered - before.delivered,
    droppedLoss: after.droppedLoss - before.droppedLoss,
    droppedQueue: after.droppedQueue - before.droppedQueue,
    droppedBlackout: after.droppedBlackout - before.droppedBlackout,
  };
}

/** Plot points need no more digits than this; results.json stays readable. */
function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
