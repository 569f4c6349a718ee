/**
 * A live stream and a download that start together (issue 13), each run on a fresh relay pair
 * over one of the bench's emulated paths: the service sends a stamped 60 Mbit/s stream to the
 * viewer, and `--join-ms` after it the viewer starts an endless download on a second connection
 * through the same tunnel, stopped when the stream ends. Prints, per run, the stream's p50/p99/max
 * from its first chunk, its worst chunk per second, and the download's rate: what start-up does
 * when a download meets a stream before the path is measured, which the full bench (one relay
 * pair warmed up for all its workloads) never shows.
 *
 * `--breakdown DIR` traces both relays (DIR/runN) and splits each chunk's delay by stage
 * (bench/delayBreakdown.ts), with a plot of the worst chunk per second.
 *
 * `--alone` runs the stream without the download: what start-up alone does to it.
 *
 * `--idle-ms N` waits N ms between the session coming up and the stream, as a relay that has run
 * for a while waits for its first viewer (its warm-up has compiled the data path by then); 0
 * starts the stream at once, on a relay still interpreting its first packets.
 *
 *   tsx bench/joinProbe.ts [--scenario clean] [--runs 3] [--seconds 15] [--join-ms 0] [--idle-ms 0] [--mbps 60] [--alone] [--breakdown DIR]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { breakDownRelays, saveBreakdown, stampedChunks, TRACE_FLUSH_WAIT_MS, type StampedChunk } from './delayBreakdown.ts';
import { startBering } from './beringHarness.ts';
import { finishTransfer } from './harness.ts';
import { percentile } from './liveProbe.ts';
import { SCENARIOS, type Scenario } from './scenarios.ts';
import { requireWholeNumbers, runScript, temporaryKeyFile } from './scriptSupport.ts';
import { cbrIntervalMs, monotonicMs } from './workload.ts';

const CHUNK_BYTES = 16 * 1024;
/** More than any link carries while the stream runs: the download is always stopped. */
const ENDLESS = 2 ** 40;
/** How long after its planned end the stream may still finish. */
const STREAM_GRACE_MS = 5_000;

interface JoinRun {
  p50: number;
  p99: number;
  max: number;
  chunks: number;
  expected: number;
  worstPerSecond: number[];
  downloadMbps: number;
  /** Each chunk received: its stamp and arrival (for the delay breakdown). */
  received: StampedChunk[];
}

async function joinRun(scenario: Scenario, keyFile: string, opts: { seconds: number; joinMs: number; idleMs: number; mbps: number; alone: boolean; traceDir?: string }): Promise<JoinRun> {
  const h = await startBering({ paths: scenario.paths.slice(0, 1), seed: scenario.seed, keyFile, extraFlags: [], traceDir: opts.traceDir });
  try {
    if (opts.idleMs > 0) await new Promise((done) => setTimeout(done, opts.idleMs));
    const durationMs = opts.seconds * 1000;
    const stream = { kind: 'cbr', direction: 'down', rateMbps: opts.mbps, chunkBytes: CHUNK_BYTES, durationMs } as const;
    h.viewer.send({ op: 'connect', id: 'stream', target: h.target, spec: stream });
    const startedAt = await h.viewer.started('stream', 10_000);
    let downloadStartedAt = NaN;
    if (!opts.alone) {
      const joinAt = startedAt + opts.joinMs;
      if (joinAt > monotonicMs()) await new Promise((done) => setTimeout(done, joinAt - monotonicMs()));
      h.viewer.send({ op: 'connect', id: 'download', target: h.target, spec: { kind: 'bulk', direction: 'down', bytes: ENDLESS } });
      downloadStartedAt = await h.viewer.started('download', 10_000);
    }
    const { result } = await finishTransfer(h, h.viewer, 'stream', startedAt + durationMs + STREAM_GRACE_MS - monotonicMs());
    const downloaded = opts.alone ? 0 : ((await finishTransfer(h, h.viewer, 'download', 0)).result?.bytes ?? 0);
    const delays = (result?.delays ?? []).map((d) => d ?? Infinity);
    const received = stampedChunks(result?.delays ?? [], result?.stamps ?? []);
    const sorted = [...delays].sort((a, b) => a - b);
    const intervalMs = cbrIntervalMs(stream);
    const worstPerSecond: number[] = [];
    delays.forEach((d, i) => {
      const second = Math.floor((i * intervalMs) / 1000);
      worstPerSecond[second] = Math.max(worstPerSecond[second] ?? 0, d);
    });
    const downloadSeconds = (monotonicMs() - downloadStartedAt) / 1000;
    return {
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted.length === 0 ? NaN : sorted[sorted.length - 1],
      chunks: delays.filter((d) => d < Infinity).length,
      expected: delays.length,
      worstPerSecond,
      downloadMbps: opts.alone ? 0 : (downloaded * 8) / downloadSeconds / 1e6,
      received,
    };
  } finally {
    // The harness kills the relays: let them write their traces first.
    if (opts.traceDir !== undefined) await new Promise((done) => setTimeout(done, TRACE_FLUSH_WAIT_MS));
    await h.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'clean' },
      runs: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '15' },
      'join-ms': { type: 'string', default: '0' },
      'idle-ms': { type: 'string', default: '0' },
      mbps: { type: 'string', default: '60' },
      breakdown: { type: 'string' },
      alone: { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  const seconds = Number(values.seconds);
  const joinMs = Number(values['join-ms']);
  const idleMs = Number(values['idle-ms']);
  const mbps = Number(values.mbps);
  requireWholeNumbers([['--runs', runs, 1], ['--seconds', seconds, 2], ['--join-ms', joinMs, 0], ['--idle-ms', idleMs, 0], ['--mbps', mbps, 1]]);
  const scenario = SCENARIOS.find((s) => s.name === values.scenario);
  if (scenario === undefined) throw new Error(`--scenario: no scenario ${values.scenario} (${SCENARIOS.map((s) => s.name).join(', ')})`);
  const { keyFile, remove } = temporaryKeyFile('bering-join-probe-');
  const download = values.alone ? 'no download' : `a download joining ${joinMs} ms after it`;
  console.log(`${values.scenario}: a ${mbps} Mbit/s stream for ${seconds} s, ${download}; fresh relays per run, idle ${idleMs} ms before the stream`);
  try {
    for (let run = 1; run <= runs; run++) {
      const traceDir = values.breakdown === undefined ? undefined : join(values.breakdown, `run${run}`);
      if (traceDir !== undefined) mkdirSync(traceDir, { recursive: true });
      const r = await joinRun(scenario, keyFile, { seconds, joinMs, idleMs, mbps, alone: values.alone, traceDir });
      console.log(
        `run ${run}: stream p50 ${r.p50.toFixed(0)} p99 ${r.p99.toFixed(0)} max ${r.max.toFixed(0)} ms, ${r.chunks}/${r.expected} chunks; ` +
          `download ${r.downloadMbps.toFixed(1)} Mbit/s; worst per second ${r.worstPerSecond.map((d) => d.toFixed(0)).join(',')}`,
      );
      if (traceDir !== undefined) {
        const b = breakDownRelays(traceDir, 'down', r.received, CHUNK_BYTES);
        console.log(`plot: ${saveBreakdown(traceDir, b, `Worst chunk per second by stage, ${values.scenario}, a download joining at ${joinMs} ms`)}`);
      }
    }
  } finally {
    remove();
  }
}

runScript('joinProbe', main);
