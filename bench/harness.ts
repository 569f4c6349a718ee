/**
 * What every system under test provides once set up on a scenario's emulated paths: where the
 * viewer connects, the two workload endpoints, the processes whose cost is charged to the system,
 * and the path emulators (for blackouts and per-path counters).
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { HostPort } from '../src/io/address.ts';
import type { LinkConfig, LinkStats } from '../src/sim/link.ts';
import { Helpers, lastLines, stopChild } from '../src/lab/children.ts';
import { EndpointProcess } from './endpointProcess.ts';
import { monotonicMs, type ReceiveResult } from './workload.ts';

/** The tunnel's first transfer, before anything is measured: the session and its first streams set up. */
export const WARMUP_BYTES = 64 * 1024;

/** The impairment proxy and the TUN bridge both look like this to the orchestrator. */
export interface PathEmulator {
  now(): number;
  setConfig(direction: 'aToB' | 'bToA', partial: Partial<LinkConfig>): void;
  stats(): { aToB: LinkStats; bToA: LinkStats };
  close(): Promise<void>;
}

export interface Harness {
  /** Where the viewer endpoint connects (the entry relay, kcptun's client, or the far namespace). */
  target: HostPort;
  viewer: EndpointProcess;
  service: EndpointProcess;
  /** The two relay processes (entry, exit) charged with CPU and memory; null for kernel TCP. */
  relays: { entry: ChildProcess; exit: ChildProcess } | null;
  /** One emulator per path the system uses, in path order. */
  paths: PathEmulator[];
  /** Which helper processes (relays, socat) died, with the end of their stderr; null if none. */
  deaths(): string | null;
  /** Processes of the emulation besides the bench itself (socat for kernel TCP). */
  emulatorPids(): number[];
  /**
   * Packets the emulation host dropped outside the link model so far, besides its UDP sockets
   * (kernel TCP: the TUN devices' queues).
   */
  deviceDrops(): Promise<number>;
  /** Stops everything it started. */
  close(): Promise<void>;
}

/** What a UDP system's own setup gets: the service to reach, and where to register what it starts. */
export interface UdpSystemSetup {
  service: EndpointProcess;
  /** Null only if the endpoint did not say (it always does when listening). */
  servicePort: number | null;
  helpers: Helpers;
  /** Everything here is closed when the harness closes, or when setup fails. */
  started: Array<{ close(): Promise<void> }>;
}

/**
 * The frame around a system that tunnels TCP over UDP on loopback (bering, kcptun): a service
 * endpoint, a viewer started alongside (needed only at the end), and teardown of everything
 * started so far, on close or when `setup` throws. `setup` starts the system's own processes and
 * emulators and says where the viewer connects.
 */
export async function startUdpSystem(
  setup: (s: UdpSystemSetup) => Promise<{ target: HostPort; relays: { entry: ChildProcess; exit: ChildProcess }; paths: PathEmulator[] }>,
): Promise<Harness> {
  const started: Array<{ close(): Promise<void> }> = [];
  const helpers = new Helpers();
  const closeAll = async (): Promise<void> => {
    await Promise.all(helpers.children.map((c) => stopChild(c, relayNodeArgs().length > 0 ? 'SIGTERM' : 'SIGKILL')));
    await Promise.all(started.map((s) => s.close()));
  };
  const viewerStart = EndpointProcess.start({});
  try {
    const { endpoint: service, port: servicePort } = await EndpointProcess.start({ listen: '127.0.0.1:0' });
    started.push(service);
    const { target, relays, paths } = await setup({ service, servicePort, helpers, started });
    const { endpoint: viewer } = await viewerStart;
    started.push(viewer);
    return {
      target,
      viewer,
      service,
      relays,
      paths,
      deaths: () => helpers.deaths(),
      emulatorPids: () => [],
      deviceDrops: async () => 0,
      close: closeAll,
    };
  } catch (err) {
    await viewerStart.then(({ endpoint }) => endpoint.close(), () => undefined);
    await closeAll();
    throw err;
  }
}

/**
 * Node flags for every relay the bench starts, from RELAY_NODE_ARGS (e.g. `--cpu-prof
 * --cpu-prof-dir=DIR`). With any, relays are stopped by SIGTERM rather than SIGKILL, so that a
 * profile is written at exit.
 */
export function relayNodeArgs(): string[] {
  return (process.env.RELAY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
}

/**
 * With RELAY_LOG_DIR set, keeps the relay's whole log in a file of that directory (one per relay
 * and run), for diagnosing a bad run afterwards; RELAY_LOG_LEVEL=debug adds each path's model
 * every second.
 */
export function keepRelayLog(child: ChildProcess, name: string): void {
  const dir = process.env.RELAY_LOG_DIR;
  if (dir === undefined) return;
  const log = createWriteStream(join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${name.replace(/ /g, '-')}.log`));
  child.stderr?.on('data', (b: Buffer) => log.write(b));
  child.on('exit', () => log.end());
}

/**
 * Resolves with the first line of `child`'s stderr for which `pick` returns a value; rejects when
 * the child exits first or `timeoutMs` passes, quoting the end of its stderr.
 */
export function waitForLine<T>(child: ChildProcess, what: string, pick: (line: string) => T | undefined, timeoutMs = 15_000): Promise<T> {
  return new Promise((ok, fail) => {
    let partial = '';
    let seen = '';
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
    };
    const onData = (b: Buffer): void => {
      const text = b.toString();
      seen = (seen + text).slice(-2000);
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const v = pick(line);
        if (v !== undefined) {
          cleanup();
          ok(v);
          return;
        }
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      fail(new Error(`${what} exited (${code}) before it was ready: ${lastLines(seen)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      fail(new Error(`${what} not ready within ${timeoutMs / 1000} s: ${lastLines(seen)}`));
    }, timeoutMs);
    child.stderr!.on('data', onData);
    child.on('exit', onExit);
  });
}

/**
 * Waits up to `waitMs` for `receiver` to report transfer `id`. One still running then is stopped
 * on both endpoints and what arrived is taken; `stoppedAt` says when (null: it ended by itself).
 */
export async function finishTransfer(
  h: Pick<Harness, 'viewer' | 'service'>,
  receiver: EndpointProcess,
  id: string,
  waitMs: number,
): Promise<{ result: ReceiveResult | null; stoppedAt: number | null }> {
  const result = await receiver.done(id, Math.max(0, waitMs));
  if (result !== null) return { result, stoppedAt: null };
  const stoppedAt = monotonicMs();
  h.viewer.send({ op: 'stop', id });
  h.service.send({ op: 'stop', id });
  return { result: await receiver.done(id, 5000), stoppedAt };
}
