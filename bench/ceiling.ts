/**
 * Loopback ceiling: how fast a relay pair moves bytes when nothing but the host limits it. No
 * link model, no proxy: the entry relay's UDP goes straight to the exit relay's. Source and sink
 * live in this process, so relays, traffic and the harness share the machine as they would on a
 * small VPS. Reports goodput and both relays' CPU seconds per GB (from /proc), for bering and
 * kcptun in the same run.
 *
 *   tsx bench/ceiling.ts [--mb 500] [--conns 1] [--systems bering,kcptun] [--cpus 0,1]
 *
 * `--cpus` pins the relays with taskset (e.g. `--cpus 0` for the one-core ceiling).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { beringNodeArgs } from '../src/lab/beringBin.ts';
import { spawnChild, stopChild } from '../src/lab/children.ts';
import { freePort } from '../src/lab/freePort.ts';
import { keepRelayLog, relayNodeArgs, waitForLine } from './harness.ts';
import { KCPTUN_CLIENT, KCPTUN_FLAGS, KCPTUN_SERVER } from './kcptunHarness.ts';
import { busiestThreadSeconds, cpuSeconds, peakRssBytes, threadCpuSeconds } from './procStats.ts';

export interface CeilingResult {
  system: string;
  conns: number;
  cpus: string;
  bytes: number;
  seconds: number;
  mbps: number;
  /** Both relays' CPU seconds (user + system) per 10^9 bytes of goodput. */
  cpuPerGb: number;
  entryCpu: number;
  exitCpu: number;
  peakRssMb: number;
  /**
   * Each relay's busiest thread, as a share of one core over the transfer: a relay whose busiest
   * thread nears 1 is at its own ceiling, whatever else the machine could give it.
   */
  busiestThread: { entry: number; exit: number };
}

export interface RelayPair {
  entryPort: number;
  entry: ChildProcess;
  exit: ChildProcess;
}

const CHUNK = randomBytes(1 << 20);

function pinned(cpus: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
}

/**
 * A bering relay pair on loopback forwarding to `sinkPort`. With `traceDir`, each relay traces
 * its stream bytes there (exit.csv, entry.csv; see bench/delayBreakdown.ts).
 */
export async function startBeringPair(
  sinkPort: number,
  cpus: string | undefined,
  extra: string[],
  exitExtra: string[] = [],
  entryExtra: string[] = [],
  traceDir?: string,
): Promise<RelayPair> {
  const keyFile = await newKeyFile();
  const { exit, udpPort } = await startBeringExit(keyFile, sinkPort, cpus, [...extra, ...exitExtra], traceDir);
  const { entry, entryPort } = await startBeringEntry(keyFile, udpPort, cpus, [...extra, ...entryExtra], traceDir);
  return { entryPort, entry, exit };
}

/** A key made by `bering keygen`, in a file of a new temporary folder. */
async function newKeyFile(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bering-ceiling-'));
  const keyFile = join(dir, 'key');
  const key = spawnChild(process.execPath, beringNodeArgs(['keygen']), { stdio: ['ignore', 'pipe', 'pipe'] });
  let keyText = '';
  key.stdout!.on('data', (b: Buffer) => (keyText += b.toString()));
  await new Promise((ok) => key.on('exit', ok));
  writeFileSync(keyFile, keyText, { mode: 0o600 });
  return keyFile;
}

/** RELAY_LOG_LEVEL=debug makes the relays log their path model every second, for diagnosis. */
function relayEnv(role: 'exit' | 'entry', traceDir: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env, LOG_LEVEL: process.env.RELAY_LOG_LEVEL ?? 'info' };
  return traceDir === undefined ? env : { ...env, BERING_STREAM_TRACE: join(traceDir, `${role}.csv`) };
}

async function startBeringExit(keyFile: string, sinkPort: number, cpus: string | undefined, flags: string[], traceDir?: string): Promise<{ exit: ChildProcess; udpPort: number }> {
  const udpPort = await freePort('udp');
  const args = ['relay', '--udp-listen', `127.0.0.1:${udpPort}`, '--forward', `127.0.0.1:${sinkPort}`, '--key-file', keyFile, ...flags];
  const exit = spawnChild(...pinned(cpus, process.execPath, beringNodeArgs(args, relayNodeArgs())), { env: relayEnv('exit', traceDir) });
  keepRelayLog(exit, 'exit relay');
  await waitForLine(exit, 'exit relay', (l) => (l.includes('relay running') ? true : undefined));
  return { exit, udpPort };
}

async function startBeringEntry(keyFile: string, udpPort: number, cpus: string | undefined, flags: string[], traceDir?: string): Promise<{ entry: ChildProcess; entryPort: number }> {
  const entryPort = await freePort('tcp');
  const args = ['relay', '--tcp-listen', `127.0.0.1:${entryPort}`, '--peer', `127.0.0.1:${udpPort}`, '--key-file', keyFile, ...flags];
  const entry = spawnChild(...pinned(cpus, process.execPath, beringNodeArgs(args, relayNodeArgs())), { env: relayEnv('entry', traceDir) });
  keepRelayLog(entry, 'entry relay');
  await waitForLine(entry, 'entry relay', (l) => (l.includes('session up') ? true : undefined), 20_000);
  return { entry, entryPort };
}

export async function startKcptunPair(sinkPort: number, cpus: string | undefined): Promise<RelayPair> {
  const env = { ...process.env, KCPTUN_KEY: randomBytes(16).toString('hex') };
  const udpPort = await freePort('udp');
  const exit = spawnChild(...pinned(cpus, KCPTUN_SERVER, ['--listen', `127.0.0.1:${udpPort}`, '--target', `127.0.0.1:${sinkPort}`, ...KCPTUN_FLAGS]), { env });
  await waitForLine(exit, 'kcptun-server', (l) => (l.includes('listening on') ? true : undefined));
  const entryPort = await freePort('tcp');
  const entry = spawnChild(...pinned(cpus, KCPTUN_CLIENT, ['--localaddr', `127.0.0.1:${entryPort}`, '--remoteaddr', `127.0.0.1:${udpPort}`, ...KCPTUN_FLAGS]), { env });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((done) => {
      const s = net.connect(entryPort, '127.0.0.1');
      s.once('connect', () => (s.destroy(), done(true)));
      s.once('error', () => done(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { entryPort, entry, exit };
}

/**
 * Writes `bytesPerConn` on each of `conns` connections to each entry relay; resolves with the
 * seconds until the sink has them all.
 */
async function transfer(entryPorts: number[], sinkBytes: () => number, bytesPerConn: number, conns: number, timeoutMs: number): Promise<number> {
  const total = bytesPerConn * conns * entryPorts.length;
  const t0 = performance.now();
  const sockets: net.Socket[] = [];
  for (let c = 0; c < conns * entryPorts.length; c++) {
    const s = net.connect(entryPorts[c % entryPorts.length], '127.0.0.1');
    sockets.push(s);
    let left = bytesPerConn;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    s.once('connect', pump);
    s.on('error', () => undefined);
  }
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`sink got ${sinkBytes()} of ${total} bytes in ${timeoutMs / 1000} s`)), timeoutMs);
    const poll = setInterval(() => {
      if (sinkBytes() >= total) {
        clearInterval(poll);
        clearTimeout(timer);
        ok();
      }
    }, 5);
  });
  const seconds = (performance.now() - t0) / 1000;
  for (const s of sockets) s.destroy();
  return seconds;
}

/** A TCP service on loopback that reads and counts whatever it is sent. */
async function startSink(): Promise<{ server: net.Server; port: number; received: number }> {
  const sink = { server: net.createServer(), port: 0, received: 0 };
  sink.server.on('connection', (s) => {
    s.on('data', (b: Buffer) => (sink.received += b.length));
    s.on('error', () => undefined);
  });
  await new Promise<void>((ok) => sink.server.listen(0, '127.0.0.1', ok));
  sink.port = (sink.server.address() as net.AddressInfo).port;
  return sink;
}

/** One ceiling measurement of `system`. */
export async function measureCeiling(opts: {
  system: 'bering' | 'kcptun';
  mb: number;
  conns: number;
  cpus?: string;
  extraFlags?: string[];
  /** Flags of bering's exit relay only (as --workers). */
  exitFlags?: string[];
}): Promise<CeilingResult> {
  const sink = await startSink();
  const pair = opts.system === 'bering' ? await startBeringPair(sink.port, opts.cpus, opts.extraFlags ?? [], opts.exitFlags ?? []) : await startKcptunPair(sink.port, opts.cpus);
  try {
    const bytesPerConn = Math.floor((opts.mb * 1e6) / opts.conns);
    const cpu0 = [cpuSeconds(pair.entry.pid!) ?? 0, cpuSeconds(pair.exit.pid!) ?? 0];
    const threads0 = [threadCpuSeconds(pair.entry.pid!), threadCpuSeconds(pair.exit.pid!)];
    const seconds = await transfer([pair.entryPort], () => sink.received, bytesPerConn, opts.conns, 600_000);
    const cpu1 = [cpuSeconds(pair.entry.pid!) ?? 0, cpuSeconds(pair.exit.pid!) ?? 0];
    const threads1 = [threadCpuSeconds(pair.entry.pid!), threadCpuSeconds(pair.exit.pid!)];
    const bytes = bytesPerConn * opts.conns;
    const entryCpu = cpu1[0] - cpu0[0];
    const exitCpu = cpu1[1] - cpu0[1];
    const rss = Math.max(peakRssBytes(pair.entry.pid!) ?? 0, peakRssBytes(pair.exit.pid!) ?? 0);
    return {
      system: opts.system,
      conns: opts.conns,
      cpus: opts.cpus ?? 'all',
      bytes,
      seconds,
      mbps: (bytes * 8) / seconds / 1e6,
      cpuPerGb: ((entryCpu + exitCpu) * 1e9) / bytes,
      entryCpu,
      exitCpu,
      peakRssMb: rss / 2 ** 20,
      busiestThread: {
        entry: busiestThreadSeconds(threads0[0], threads1[0]) / seconds,
        exit: busiestThreadSeconds(threads0[1], threads1[1]) / seconds,
      },
    };
  } finally {
    await Promise.all([stopChild(pair.entry), stopChild(pair.exit)]);
    sink.server.close();
  }
}

export interface FanInResult {
  entries: number;
  connsPerEntry: number;
  exitWorkers: number;
  mbps: number;
  /** Every relay's CPU seconds per GB, and the exit relay's alone. */
  cpuPerGb: number;
  exitCpuPerGb: number;
  /** The exit relay's CPU over the transfer and its busiest thread's, as shares of one core. */
  exitCores: number;
  exitBusiestThread: number;
}

/**
 * One exit relay serving `entries` entry relays at once (each a session of its own), with
 * `exitWorkers` worker threads (`--workers`); `mb` megabytes in all, over `connsPerEntry`
 * connections to each entry relay.
 */
export async function measureFanIn(opts: { entries: number; connsPerEntry: number; exitWorkers: number; mb: number }): Promise<FanInResult> {
  const sink = await startSink();
  const keyFile = await newKeyFile();
  const children: ChildProcess[] = [];
  try {
    const { exit, udpPort } = await startBeringExit(keyFile, sink.port, undefined, ['--workers', String(opts.exitWorkers)]);
    children.push(exit);
    const entryPorts: number[] = [];
    for (let i = 0; i < opts.entries; i++) {
      const { entry, entryPort } = await startBeringEntry(keyFile, udpPort, undefined, []);
      children.push(entry);
      entryPorts.push(entryPort);
    }
    const bytesPerConn = Math.floor((opts.mb * 1e6) / (opts.entries * opts.connsPerEntry));
    const cpu0 = children.map((c) => cpuSeconds(c.pid!) ?? 0);
    const threads0 = threadCpuSeconds(exit.pid!);
    const seconds = await transfer(entryPorts, () => sink.received, bytesPerConn, opts.connsPerEntry, 600_000);
    const cpu1 = children.map((c) => cpuSeconds(c.pid!) ?? 0);
    const threads1 = threadCpuSeconds(exit.pid!);
    const bytes = bytesPerConn * opts.connsPerEntry * opts.entries;
    const cpu = cpu1.map((c, i) => c - cpu0[i]);
    return {
      entries: opts.entries,
      connsPerEntry: opts.connsPerEntry,
      exitWorkers: opts.exitWorkers,
      mbps: (bytes * 8) / seconds / 1e6,
      cpuPerGb: (cpu.reduce((a, b) => a + b, 0) * 1e9) / bytes,
      exitCpuPerGb: (cpu[0] * 1e9) / bytes,
      exitCores: cpu[0] / seconds,
      exitBusiestThread: busiestThreadSeconds(threads0, threads1) / seconds,
    };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    sink.server.close();
  }
}

/** The cases of `bering bench --ceiling`: bering on one core and on two, kcptun; 1 and 8 connections. */
export const CEILING_CASES: Array<{ system: 'bering' | 'kcptun'; conns: number; cpus?: string }> = [
  { system: 'bering', conns: 1 },
  { system: 'kcptun', conns: 1 },
  { system: 'bering', conns: 8 },
  { system: 'kcptun', conns: 8 },
  { system: 'bering', conns: 1, cpus: '0' },
  { system: 'kcptun', conns: 1, cpus: '0' },
];

/**
 * The fan-in cases: one exit relay serving two entry relays at once (four connections each), its
 * sessions on the main thread and on two worker threads.
 */
export const FAN_IN_CASES: Array<{ entries: number; connsPerEntry: number; exitWorkers: number }> = [
  { entries: 2, connsPerEntry: 4, exitWorkers: 0 },
  { entries: 2, connsPerEntry: 4, exitWorkers: 2 },
];

/** Runs every case (moving `mb` megabytes each) and returns them with a markdown table. */
export async function runCeilingTable(
  mb: number,
  onResult: (line: string) => void,
): Promise<{ results: CeilingResult[]; fanIn: FanInResult[]; markdown: string }> {
  const results: CeilingResult[] = [];
  for (const c of CEILING_CASES) {
    const r = await measureCeiling({ ...c, mb });
    results.push(r);
    onResult(formatCeiling(r));
  }
  const fanIn: FanInResult[] = [];
  for (const c of FAN_IN_CASES) {
    const r = await measureFanIn({ ...c, mb });
    fanIn.push(r);
    onResult(formatFanIn(r));
  }
  const ratio = (conns: number, cpus: string, pick: (r: CeilingResult) => number): string => {
    const b = results.find((r) => r.system === 'bering' && r.conns === conns && r.cpus === cpus);
    const k = results.find((r) => r.system === 'kcptun' && r.conns === conns && r.cpus === cpus);
    return b === undefined || k === undefined ? '—' : (pick(b) / pick(k)).toFixed(2);
  };
  const rows = results.map(
    (r) =>
      `| ${r.system} | ${r.conns} | ${r.cpus === 'all' ? 'all' : `taskset ${r.cpus}`} | ${r.mbps.toFixed(1)} | ${r.cpuPerGb.toFixed(1)} | ${r.entryCpu.toFixed(1)} / ${r.exitCpu.toFixed(1)} | ${r.busiestThread.entry.toFixed(2)} / ${r.busiestThread.exit.toFixed(2)} | ${r.peakRssMb.toFixed(0)} |`,
  );
  const fanInRows = fanIn.map(
    (r) =>
      `| ${r.entries} x ${r.connsPerEntry} | ${r.exitWorkers} | ${r.mbps.toFixed(1)} | ${r.cpuPerGb.toFixed(1)} | ${r.exitCpuPerGb.toFixed(1)} | ${r.exitCores.toFixed(2)} | ${r.exitBusiestThread.toFixed(2)} | ${(r.mbps / r.exitBusiestThread).toFixed(0)} |`,
  );
  const markdown = [
    `## Loopback ceiling (${mb} MB per case, no link model; relays, source and sink share the machine)`,
    '',
    "A relay's busiest thread is its share of one core over the transfer: near 1, that relay is the limit.",
    '',
    '| system | connections | CPUs | goodput (Mbit/s) | relays CPU-s/GB | entry / exit CPU-s | busiest thread entry / exit | peak RSS (MB) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `bering / kcptun goodput: ${ratio(1, 'all', (r) => r.mbps)} (1 connection), ${ratio(8, 'all', (r) => r.mbps)} (8), ${ratio(1, '0', (r) => r.mbps)} (one core); ` +
      `CPU per GB: ${ratio(1, 'all', (r) => r.cpuPerGb)}, ${ratio(8, 'all', (r) => r.cpuPerGb)}, ${ratio(1, '0', (r) => r.cpuPerGb)}.`,
    '',
    `## One exit relay serving several entry relays (${mb} MB per case, all on this machine)`,
    '',
    'Each entry relay is a session of its own. With `--workers`, the exit relay runs them on worker threads. ' +
      "The last column is the goodput over the exit relay's busiest thread: what it would carry with a core per thread, with the other relays elsewhere.",
    '',
    '| entry relays x connections | exit --workers | goodput (Mbit/s) | relays CPU-s/GB | exit CPU-s/GB | exit cores used | exit busiest thread | goodput / busiest thread |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...fanInRows,
    '',
  ].join('\n');
  return { results, fanIn, markdown };
}

function formatFanIn(r: FanInResult): string {
  return (
    `exit --workers ${r.exitWorkers}, ${r.entries} entry relays x ${r.connsPerEntry} conns: ${r.mbps.toFixed(1)} Mbit/s, ${r.cpuPerGb.toFixed(1)} CPU-s/GB ` +
    `(exit ${r.exitCpuPerGb.toFixed(1)}, ${r.exitCores.toFixed(2)} cores, busiest thread ${r.exitBusiestThread.toFixed(2)})`
  );
}

function formatCeiling(r: CeilingResult): string {
  return (
    `${r.system.padEnd(7)} conns ${r.conns} cpus ${r.cpus}: ${r.mbps.toFixed(1)} Mbit/s, ${r.cpuPerGb.toFixed(1)} CPU-s/GB ` +
    `(entry ${r.entryCpu.toFixed(1)} s, exit ${r.exitCpu.toFixed(1)} s, busiest thread ${r.busiestThread.entry.toFixed(2)} / ${r.busiestThread.exit.toFixed(2)}, ` +
    `${r.seconds.toFixed(1)} s wall, peak RSS ${r.peakRssMb.toFixed(0)} MB)`
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '500' },
      conns: { type: 'string', default: '1' },
      systems: { type: 'string', default: 'bering,kcptun' },
      cpus: { type: 'string' },
    },
  });
  for (const system of values.systems.split(',') as Array<'bering' | 'kcptun'>) {
    const r = await measureCeiling({ system, mb: Number(values.mb), conns: Number(values.conns), cpus: values.cpus });
    console.log(formatCeiling(r));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
