/**
 * A live stream through a relay pair on loopback, no link model: the service sends `--mbps` of
 * 16 KiB chunks stamped with their send time for `--seconds`; the viewer reads them through the
 * tunnel and records each chunk's delay, first chunk included. Prints p50/p99/max and the worst
 * chunk per second, for bering and kcptun in the same run: what the relays themselves add.
 *
 * With `--breakdown DIR`, both relays trace their stream bytes into DIR/runN and each chunk's
 * delay is split into ingress, sender, flight, repair and egress (bench/delayBreakdown.ts), with
 * a plot of the worst chunk per second by stage.
 *
 *   tsx bench/liveProbe.ts [--mbps 60] [--seconds 15] [--systems bering,kcptun] [--up] [--idle-ms N] [--warm] [--breakdown DIR]
 */
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopChild } from '../src/lab/children.ts';
import { startBeringPair, startKcptunPair, type RelayPair } from './ceiling.ts';
import { breakDownRelays, saveBreakdown } from './delayBreakdown.ts';
import { cpuSeconds } from './procStats.ts';
import { monotonicMs } from './workload.ts';

export const CHUNK = 16 * 1024;

export interface LiveProbeResult {
  system: string;
  chunks: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  worstPerSecond: number[];
  /** Both relays' CPU seconds per GB of the stream, counted from the viewer's connect to the last chunk. */
  cpuSecondsPerGb: number;
}

export function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** How many chunks {@link sendStream} sends at `mbps` for `seconds`. */
export function chunkCount(mbps: number, seconds: number): number {
  return Math.floor((seconds * 1000) / ((CHUNK * 8) / (mbps * 1000)));
}

/**
 * Sends stamped chunks at `mbps` on `socket` for `seconds`: each is zeros but for its scheduled
 * send time (f64 at 0) and its index (u32 at 8), so the receiver can check order and content.
 */
export function sendStream(socket: net.Socket, mbps: number, seconds: number): void {
  const intervalMs = (CHUNK * 8) / (mbps * 1000);
  const t0 = performance.now();
  const total = chunkCount(mbps, seconds);
  let sent = 0;
  const tick = (): void => {
    const due = Math.min(total, Math.floor((performance.now() - t0) / intervalMs) + 1);
    while (sent < due) {
      const chunk = Buffer.alloc(CHUNK);
      chunk.writeDoubleLE(t0 + sent * intervalMs, 0);
      chunk.writeUInt32LE(sent, 8);
      socket.write(chunk);
      sent++;
    }
    if (sent < total) setTimeout(tick, 1);
    else socket.end();
  };
  tick();
}

export interface ChunkArrival {
  at: number;
  delay: number;
  /** The index the sender wrote in it. */
  seq: number;
  /** Whether everything but the stamp and index is still zero. */
  intact: boolean;
}

const ZEROS = Buffer.alloc(CHUNK - 12);

/** Collects chunk arrivals from `socket` into `arrivals` (readable while it runs) until it ends. */
export function receiveStream(socket: net.Socket, arrivals: ChunkArrival[] = []): Promise<ChunkArrival[]> {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (b: Buffer) => {
    const now = performance.now();
    pending = pending.length === 0 ? b : Buffer.concat([pending, b]);
    while (pending.length >= CHUNK) {
      const stamp = pending.readDoubleLE(0);
      arrivals.push({ at: now, delay: now - stamp, seq: pending.readUInt32LE(8), intact: pending.subarray(12, CHUNK).equals(ZEROS) });
      pending = pending.subarray(CHUNK);
    }
  });
  return new Promise((ok) => socket.on('end', () => ok(arrivals)));
}

/** Polls the sending relay's /status every 100 ms; returns the samples when stopped. */
function traceSender(port: number): () => string[] {
  const lines: string[] = [];
  const t0 = performance.now();
  const timer = setInterval(() => {
    fetch(`http://127.0.0.1:${port}/status`)
      .then((r) => r.json())
      .then((st: { sessions: Array<{ paths: Array<Record<string, number | string>> }> }) => {
        const p = st.sessions[0]?.paths[0];
        if (p === undefined) return;
        const f = (k: string, d = 1): string => (typeof p[k] === 'number' ? (p[k] as number).toFixed(d) : String(p[k]));
        lines.push(
          `${((performance.now() - t0) / 1000).toFixed(1)}s ${f('ccState')} srtt ${f('srttMs')} min ${f('minRttMs', 2)} pace ${((p.pacingRateBytesPerSecond as number) * 8e-6).toFixed(0)} Mb cwnd ${((p.cwndBytes as number) / 1000).toFixed(0)}k infl ${((p.bytesInFlight as number) / 1000).toFixed(0)}k lost ${p.packetsLost} rep ${p.fecRepairPacketsSent} pto ${p.probeTimeouts}`,
        );
      })
      .catch(() => undefined);
  }, 100);
  return () => {
    clearInterval(timer);
    return lines;
  };
}

export async function probeLive(opts: {
  system: 'bering' | 'kcptun';
  mbps: number;
  seconds: number;
  up: boolean;
  trace?: boolean;
  warm?: boolean;
  /** How long the relays sit idle between coming up and the viewer connecting. */
  idleMs?: number;
  /** Trace both relays' stream bytes into this folder and print where each chunk's delay went. */
  breakdownDir?: string;
}): Promise<LiveProbeResult> {
  let serviceSide: net.Socket | null = null;
  const service = net.createServer((s) => {
    serviceSide = s;
    s.on('error', () => undefined);
    if (!opts.up) sendStream(s, opts.mbps, opts.seconds);
  });
  await new Promise<void>((ok) => service.listen(0, '127.0.0.1', ok));
  const servicePort = (service.address() as net.AddressInfo).port;
  const tracePort = 9190;
  const traceFlags = opts.trace === true ? ['--metrics', `127.0.0.1:${tracePort}`] : [];
  const pair: RelayPair =
    opts.system === 'bering'
      ? await startBeringPair(servicePort, undefined, [], opts.up ? [] : traceFlags, opts.up ? traceFlags : [], opts.breakdownDir)
      : await startKcptunPair(servicePort, undefined);
  const stopTrace = opts.trace === true && opts.system === 'bering' ? traceSender(tracePort) : null;
  const arrivals: ChunkArrival[] = [];
  try {
    if (opts.idleMs !== undefined) await new Promise((r) => setTimeout(r, opts.idleMs));
    if (opts.warm === true) {
      const warm = net.connect(pair.entryPort, '127.0.0.1');
      warm.on('error', () => undefined);
      await new Promise((ok) => warm.once('connect', ok));
      if (opts.up) sendStream(warm, opts.mbps, 3);
      else await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 3500));
      warm.destroy();
      serviceSide = null;
    }
    const relaysCpu = (): number => (cpuSeconds(pair.entry.pid ?? -1) ?? NaN) + (cpuSeconds(pair.exit.pid ?? -1) ?? NaN);
    const cpuAtStart = relaysCpu();
    const viewer = net.connect(pair.entryPort, '127.0.0.1');
    viewer.setNoDelay(true);
    viewer.on('error', () => undefined);
    await new Promise((ok) => viewer.once('connect', ok));
    if (opts.up) {
      while (serviceSide === null) await new Promise((r) => setTimeout(r, 5));
      const received = receiveStream(serviceSide, arrivals);
      sendStream(viewer, opts.mbps, opts.seconds);
      await received;
    } else {
      await receiveStream(viewer, arrivals);
    }
    const cpuUsed = relaysCpu() - cpuAtStart;
    const start = arrivals.length > 0 ? arrivals[0].at - arrivals[0].delay : 0;
    const worstPerSecond: number[] = [];
    for (const d of arrivals) {
      const s = Math.floor((d.at - d.delay - start) / 1000);
      worstPerSecond[s] = Math.max(worstPerSecond[s] ?? 0, d.delay);
    }
    const sorted = arrivals.map((d) => d.delay).sort((a, b) => a - b);
    viewer.destroy();
    if (stopTrace !== null) {
      console.log(stopTrace().join('\n'));
      const metrics = await (await fetch(`http://127.0.0.1:${tracePort}/metrics`)).text();
      console.log(metrics.split('\n').filter((l) => /eventloop_lag_(max|p99)|gc_duration_seconds_(sum|count)|heap_size_used/.test(l)).join('\n'));
    }
    return {
      system: opts.system,
      chunks: arrivals.length,
      expected: Math.floor((opts.seconds * opts.mbps * 1e6) / 8 / CHUNK),
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? NaN,
      worstPerSecond: Array.from(worstPerSecond, (v) => Math.round(v ?? 0)),
      cpuSecondsPerGb: cpuUsed / ((arrivals.length * CHUNK) / 1e9),
    };
  } finally {
    await Promise.all([stopChild(pair.entry), stopChild(pair.exit)]);
    service.close();
    if (opts.breakdownDir !== undefined && opts.system === 'bering' && arrivals.length > 0) reportBreakdown(opts.breakdownDir, arrivals, opts.up);
  }
}

/** Prints where each chunk's delay went, from both relays' traces, and plots the worst per second. */
function reportBreakdown(dir: string, arrivals: ChunkArrival[], up: boolean): void {
  // The arrivals are on this process's performance clock, the traces on the host's monotonic one.
  const origin = monotonicMs() - performance.now();
  const chunks = arrivals.map((a) => ({ stampedAt: origin + a.at - a.delay, arrivedAt: origin + a.at }));
  const b = breakDownRelays(dir, up ? 'up' : 'down', chunks, CHUNK);
  const file = saveBreakdown(dir, b, `Worst chunk per second by stage, live stream ${up ? 'viewer to service' : 'service to viewer'}`, `delay-breakdown-${up ? 'up' : 'down'}.svg`);
  console.log(`plot: ${file}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mbps: { type: 'string', default: '60' },
      seconds: { type: 'string', default: '15' },
      systems: { type: 'string', default: 'bering,kcptun' },
      up: { type: 'boolean', default: false },
      runs: { type: 'string', default: '1' },
      trace: { type: 'boolean', default: false },
      warm: { type: 'boolean', default: false },
      'idle-ms': { type: 'string', default: '0' },
      breakdown: { type: 'string' },
    },
  });
  for (let run = 0; run < Number(values.runs); run++) {
    for (const system of values.systems.split(',') as Array<'bering' | 'kcptun'>) {
      const breakdownDir = values.breakdown === undefined ? undefined : join(values.breakdown, `run${run + 1}`);
      if (breakdownDir !== undefined) mkdirSync(breakdownDir, { recursive: true });
      const r = await probeLive({ system, mbps: Number(values.mbps), seconds: Number(values.seconds), up: values.up, trace: values.trace, warm: values.warm, idleMs: Number(values['idle-ms']), breakdownDir });
      console.log(
        `${r.system.padEnd(7)} ${values.up ? 'up  ' : 'down'} ${r.chunks}/${r.expected} chunks, p50 ${r.p50.toFixed(1)} p99 ${r.p99.toFixed(1)} max ${r.max.toFixed(1)} ms, relays ${r.cpuSecondsPerGb.toFixed(1)} CPU-s/GB; worst/s ${r.worstPerSecond.join(',')}`,
      );
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
