/**
 * bering under test: two real `bin/bering relay` processes with a fresh key file, the service
 * endpoint behind the exit relay, and one impairment proxy per path between them, all on loopback.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ImpairmentProxy } from '../src/lab/impairmentProxy.ts';
import { beringNodeArgs } from '../src/lab/beringBin.ts';
import { spawnChild } from '../src/lab/children.ts';
import { keepRelayLog, relayNodeArgs, startUdpSystem, waitForLine, type Harness } from './harness.ts';
import type { PathSpec } from './scenarios.ts';


/** The flag that turns FEC off; a relay build that rejects it has no FEC to turn off. */
export const FEC_OFF_FLAGS = ['--fec', 'off'];

export interface BeringOptions {
  paths: PathSpec[];
  /** Seeds path i's links with `pathSeed(seed, i)`. */
  seed: number;
  keyFile: string;
  extraFlags: string[];
  /** Each relay traces its stream bytes here (exit.csv, entry.csv; see bench/delayBreakdown.ts). */
  traceDir?: string;
}

/** The seed of path `index` of a scenario seeded with `seed` (the TCP bridge uses path 0's). */
export function pathSeed(seed: number, index: number): number {
  return seed * 16 + index;
}

/** Starts a bering relay pair over `opts.paths`; resolves once the tunnel is up. */
export function startBering(opts: BeringOptions): Promise<Harness> {
  return startUdpSystem(async ({ servicePort, helpers, started }) => {
    const relay = (name: 'exit relay' | 'entry relay', args: string[]): ChildProcess => {
      const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.RELAY_LOG_LEVEL ?? 'info' };
      if (opts.traceDir !== undefined) env.BERING_STREAM_TRACE = join(opts.traceDir, name === 'exit relay' ? 'exit.csv' : 'entry.csv');
      const child = spawnChild(process.execPath, beringNodeArgs(['relay', ...args, '--key-file', opts.keyFile, ...opts.extraFlags], relayNodeArgs()), { env });
      keepRelayLog(child, name);
      return helpers.add(name, child);
    };

    const exit = relay('exit relay', ['--udp-listen', opts.paths.map(() => '127.0.0.1:0').join(','), '--forward', `127.0.0.1:${servicePort}`]);
    const exitReady = waitForLine(exit, 'exit relay', (line) => logField<string[]>(line, 'relay running', 'udp'));
    const udp = await exitReady;

    const proxies: ImpairmentProxy[] = [];
    for (let i = 0; i < opts.paths.length; i++) {
      const at = udp[i].lastIndexOf(':');
      const proxy = await ImpairmentProxy.start({
        listen: { host: '127.0.0.1', port: 0 },
        target: { host: udp[i].slice(0, at), port: Number(udp[i].slice(at + 1)) },
        ...opts.paths[i],
        seed: pathSeed(opts.seed, i),
      });
      proxies.push(proxy);
      started.push(proxy);
    }

    const entry = relay('entry relay', ['--tcp-listen', '127.0.0.1:0', '--peer', proxies.map((p) => `127.0.0.1:${p.address.port}`).join(',')]);
    // `tcp` lists the listening addresses ("H:P", or "name=H:P" for a named service).
    const accepting = waitForLine(entry, 'entry relay', (line) => {
      const tcp = logField<string | string[]>(line, 'relay running', 'tcp');
      return tcp === undefined ? undefined : [tcp].flat()[0].replace(/^[^=]*=/, '');
    });
    const sessionUp = waitForLine(entry, 'entry relay session', (line) => (parseLog(line)?.msg === 'session up' ? true : undefined), 20_000);
    const tcp = await accepting;
    await sessionUp;
    const at = tcp.lastIndexOf(':');
    return { target: { host: tcp.slice(0, at), port: Number(tcp.slice(at + 1)) }, relays: { entry, exit }, paths: proxies };
  });
}

/**
 * Whether this relay build accepts `flags` (asks `bering relay FLAGS --help`, which parses every
 * flag and prints the usage without starting anything).
 */
export async function relayAccepts(flags: string[]): Promise<boolean> {
  const child = spawnChild(process.execPath, beringNodeArgs(['relay', ...flags, '--help']), { stdio: 'ignore' });
  const code = await new Promise<number | null>((ok) => {
    child.on('exit', (c) => ok(c));
    child.on('error', () => ok(null));
  });
  return code === 0;
}

/** `field` of a pino JSON log line whose msg is `msg`. */
function logField<T>(line: string, msg: string, field: string): T | undefined {
  const parsed = parseLog(line);
  return parsed?.msg === msg ? (parsed[field] as T) : undefined;
}

function parseLog(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
