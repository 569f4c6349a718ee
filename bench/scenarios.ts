/**
 * What the bench runs: the emulated links of each scenario, the workloads, and the quick and full
 * plans. Side A is the viewer's (entry relay), side B the service's (exit relay); `down` data
 * crosses B -> A.
 */
import type { LinkConfig } from '../src/sim/link.ts';
import type { WorkloadSpec } from './workload.ts';

/** One emulated path, both directions. */
export interface PathSpec {
  aToB: LinkConfig;
  bToA: LinkConfig;
}

export interface Scenario {
  name: string;
  /** One line for tables and plots. */
  title: string;
  paths: PathSpec[];
  /** Random loss in percent, for scenarios on the goodput-vs-loss curve (clean counts as 0). */
  lossPercent?: number;
  /** Path `path` goes dark both ways from `atMs` after each workload starts, for `forMs`. */
  blackout?: { path: number; atMs: number; forMs: number };
  /** Scenarios with several paths: only bering uses them all; others get path 0 (or skip). */
  singlePathSystems: boolean;
  /** Seeds the links; the same for every system, so each one starts on the same loss pattern. */
  seed: number;
}

/** Every workload a plan may hold, in report order. */
export const WORKLOAD_NAMES = ['bulk-down', 'bulk-up', 'cbr-down', 'cbr-up', 'cbr+download'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface Workload {
  name: WorkloadName;
  spec: WorkloadSpec;
  /** Time cap: a bulk transfer still running then is stopped and its goodput taken so far. */
  capMs: number;
  /**
   * A second connection through the same tunnel (or path), started right after the first: it
   * runs until `spec`'s transfer ends (or its cap), then is stopped and its goodput over that time
   * recorded. Sized so that it never finishes first.
   */
  alongside?: Extract<WorkloadSpec, { kind: 'bulk' }>;
}

/** The trans-Pacific path of the problem statement: 180 ms RTT, 100 Mbit/s, a 60 ms queue. */
const TRANS_PACIFIC: LinkConfig = { delayMs: 90, rateMbps: 100, queueMs: 60 };

function symmetric(link: LinkConfig): PathSpec {
  return { aToB: { ...link }, bToA: { ...link } };
}

/** Every scenario, in report order. */
export const SCENARIOS: Scenario[] = [
  { name: 'clean', title: '180 ms RTT, no loss', paths: [symmetric(TRANS_PACIFIC)], lossPercent: 0, singlePathSystems: true, seed: 101 },
  ...[1, 3, 5, 10].map(
    (p): Scenario => ({
      name: `loss${p}`,
      title: `180 ms RTT, ${p}% random loss`,
      paths: [symmetric({ ...TRANS_PACIFIC, lossRate: p / 100 })],
      lossPercent: p,
      singlePathSystems: true,
      seed: 100 + p,
    }),
  ),
  {
    name: 'bursty',
    title: '180 ms RTT, 3% loss in bursts (Gilbert-Elliott, mean burst 5 packets)',
    paths: [symmetric({ ...TRANS_PACIFIC, burstLoss: { meanLossRate: 0.03, meanBurstLength: 5 } })],
    singlePathSystems: true,
    seed: 111,
  },
  {
    // The live-stream issue's link (#13): its p99 <= 130 ms / max <= 300 ms goal is set on this one.
    name: 'bursty-light',
    title: '180 ms RTT, 4 ms jitter, 1.3% loss in bursts of 4 plus 0.5% random',
    paths: [symmetric({ ...TRANS_PACIFIC, jitterMs: 4, lossRate: 0.005, burstLoss: { meanLossRate: 0.013, meanBurstLength: 4 } })],
    singlePathSystems: true,
    seed: 112,
  },
  {
    name: 'failover',
    title: 'two 180 ms RTT paths with 1% loss; path 0 dark for 5 s from 2 s in',
    paths: [symmetric({ ...TRANS_PACIFIC, lossRate: 0.01 }), symmetric({ ...TRANS_PACIFIC, lossRate: 0.01 })],
    blackout: { path: 0, atMs: 2000, forMs: 5000 },
    singlePathSystems: false,
    seed: 121,
  },
  {
    // The line-rate issue's two-path goal (#12): bering over both paths against bering over one.
    name: 'two-lossy',
    title: 'two 180 ms RTT paths, 100 Mbit/s each, 3% random loss on each',
    paths: [symmetric({ ...TRANS_PACIFIC, lossRate: 0.03 }), symmetric({ ...TRANS_PACIFIC, lossRate: 0.03 })],
    singlePathSystems: true,
    seed: 141,
  },
  {
    name: 'asymmetric',
    title: 'two paths with 1% loss: 180 ms RTT at 100 Mbit/s and 280 ms RTT at 40 Mbit/s',
    paths: [symmetric({ ...TRANS_PACIFIC, lossRate: 0.01 }), symmetric({ delayMs: 140, rateMbps: 40, queueMs: 60, lossRate: 0.01 })],
    singlePathSystems: true,
    seed: 131,
  },
];

/** Video delivered with this much playout buffer stalls when a chunk is later than it. */
export const PLAYOUT_BUFFER_MS = 1000;

const MiB = 1024 * 1024;
const CBR = { kind: 'cbr', rateMbps: 60, chunkBytes: 16 * 1024 } as const;
/** More than any scenario's links carry within a cap: the download alongside a stream is always stopped. */
const ENDLESS_DOWNLOAD = { kind: 'bulk', direction: 'down', bytes: 2 ** 40 } as const;

export interface Plan {
  mode: 'quick' | 'full';
  scenarios: string[];
  /** System ids run unless `--only` says otherwise; all of them when absent. */
  systems?: string[];
  workloads: Workload[];
}

/**
 * The full set: every scenario, 100 MiB each way, a 20 s 4K-like stream each way, and the same
 * stream down with a download alongside it on a second connection (the stream should keep its
 * delays, the download take the rest of the link).
 */
export const FULL_PLAN: Plan = {
  mode: 'full',
  scenarios: SCENARIOS.map((s) => s.name),
  workloads: [
    { name: 'bulk-down', spec: { kind: 'bulk', direction: 'down', bytes: 100 * MiB }, capMs: 60_000 },
    { name: 'bulk-up', spec: { kind: 'bulk', direction: 'up', bytes: 100 * MiB }, capMs: 60_000 },
    { name: 'cbr-down', spec: { ...CBR, direction: 'down', durationMs: 20_000 }, capMs: 25_000 },
    { name: 'cbr-up', spec: { ...CBR, direction: 'up', durationMs: 20_000 }, capMs: 25_000 },
    { name: 'cbr+download', spec: { ...CBR, direction: 'down', durationMs: 20_000 }, capMs: 25_000, alongside: ENDLESS_DOWNLOAD },
  ],
};

/**
 * The quick subset, under 3 minutes: bering against each baseline on clean, 3% and bursty loss,
 * 16 MiB down (at most 8 s) and a 4 s stream. bering's variants (FEC off) wait for the full run
 * or an explicit `--only`. The upstream stream and the stream with a download alongside are the
 * full plan's: at 4 s each they would add about 2 minutes (12 more runs of 5-6 s each).
 */
export const QUICK_PLAN: Plan = {
  mode: 'quick',
  scenarios: ['clean', 'loss3', 'bursty'],
  systems: ['bering', 'tcp-cubic', 'tcp-bbr', 'kcptun'],
  workloads: [
    { name: 'bulk-down', spec: { kind: 'bulk', direction: 'down', bytes: 16 * MiB }, capMs: 8_000 },
    { name: 'cbr-down', spec: { ...CBR, direction: 'down', durationMs: 4_000 }, capMs: 6_000 },
  ],
};
