/**
 * A handshake flood against a real exit relay during a live transfer: a separate process sends
 * forged inits, replays of one authentic init and garbage Data packets to the exit relay's UDP
 * port, thousands a second, while the entry relay downloads through a 40 Mbit/s path. Shared by
 * test/security/flood.test.ts (what the flood gets back, the transfer intact) and
 * bench/security.ts (goodput against the same relays without a flood, and the exit relay's CPU).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readKeyFile } from '../../src/cli/key.ts';
import { ImpairmentProxy } from '../../src/lab/impairmentProxy.ts';
import { cryptoRng } from '../../src/io/cryptoRng.ts';
import { HandshakeInitiator } from '../../src/wire/handshake.ts';
import { collect, connect, Service } from '../relay/harness.ts';
import { RelayPair } from '../reliability/processes.ts';

const FLOODER = fileURLToPath(new URL('./flooder.ts', import.meta.url));
/** Datagrams a second the flooder aims at. */
export const FLOOD_RATE = 6000;
const BODY = 6 << 20;

export interface FloodReport {
  sent: { datagrams: number; bytes: number; forged: number; replayed: number; garbage: number };
  received: { datagrams: number; bytes: number; largest: number };
  seconds: number;
}

/** One download through the relays. */
export interface Download {
  mbps: number;
  intact: boolean;
  detail: string;
}

export interface FloodRun {
  report: FloodReport;
  /** The authentic init whose replays were part of the flood. */
  init: Uint8Array;
  /** Downloads without a flood, before it (after one to warm up) and after it; empty unless asked for. */
  baseline: Download[];
  during: Download;
  /** CPU seconds the exit relay spent from the flood's start to its end (the download included). */
  exitCpuSeconds: number;
}

function flood(port: number, seconds: number, init: Uint8Array): Promise<FloodReport> {
  const child = spawn(process.execPath, ['--import', 'tsx', FLOODER, '127.0.0.1', String(port), String(FLOOD_RATE), String(seconds), Buffer.from(init).toString('hex')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((ok, fail) => child.on('close', (code) => (code === 0 ? ok(JSON.parse(out) as FloodReport) : fail(new Error(`flooder exited ${code}`)))));
}

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Starts a service, a relay pair over a 40 Mbit/s, 20 ms RTT link and floods the exit relay for
 * 2.5 s while one download runs; with `baseline`, first warms up and downloads once before the
 * flood and once after it, for comparison. Stops everything before returning.
 */
export async function floodRun(opts: { baseline: boolean }): Promise<FloodRun> {
  const service = await Service.start();
  let proxy: ImpairmentProxy | undefined;
  let pair: RelayPair | undefined;
  try {
    const body = randomBytes(BODY);
    service.onConnection = (s) => {
      s.resume();
      s.end(body);
    };
    const link = { delayMs: 10, rateMbps: 40, queueMs: 40 };
    pair = await RelayPair.start({
      forward: service.address,
      via: async (exitUdp) => {
        proxy = await ImpairmentProxy.start({ listen: { host: '127.0.0.1', port: 0 }, target: exitUdp, aToB: link, bToA: link, seed: 3 });
        return proxy.address;
      },
    });
    const relays = pair;
    const exitPort = Number(relays.udp[0].split(':')[1]);
    const digest = createHash('sha256').update(body).digest('hex');
    const download = async (): Promise<Download> => {
      const client = connect(relays.tcp);
      const got = collect(client);
      const t = performance.now();
      client.end('go');
      const r = await got;
      const intact = r.bytes === BODY && r.sha256 === digest && r.ended && r.error === null;
      return { mbps: (BODY * 8) / 1e6 / ((performance.now() - t) / 1000), intact, detail: `${r.bytes} bytes, ended ${r.ended}, error ${r.error}` };
    };
    const baseline: Download[] = [];
    if (opts.baseline) {
      await download();
      baseline.push(await download());
    }
    const init = new HandshakeInitiator(readKeyFile(relays.key), 0x0f100d, cryptoRng, Date.now()).packet;
    const exitPid = relays.exit.child.pid!;
    const cpu0 = cpuSeconds(exitPid);
    const flooding = flood(exitPort, 2.5, init);
    // The download starts once the flood is under way: its replays reach the relay first.
    await new Promise((ok) => setTimeout(ok, 500));
    const during = await download();
    const report = await flooding;
    const exitCpuSeconds = cpuSeconds(exitPid) - cpu0;
    if (opts.baseline) baseline.push(await download());
    return { report, init, baseline, during, exitCpuSeconds };
  } finally {
    await pair?.stop();
    await service.close();
    proxy?.close();
  }
}
