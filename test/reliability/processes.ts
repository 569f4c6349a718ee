/**
 * Helpers for tests that run real `bin/bering relay` processes: a relay pair on loopback, the
 * memory of a process from /proc, and TCP clients that report how their connection ended.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { HostPort } from '../../src/io/address.ts';
import { BeringProcess, run, tempDir, writeTemp } from '../cli/run.ts';
import { collect, connect, freePort, type Received } from '../relay/harness.ts';

/** A fresh key file (what `bering keygen` prints). */
export async function keyFile(): Promise<string> {
  return writeTemp(tempDir(), 'bering.key', (await run(['keygen'])).stdout);
}

/** Resident and peak resident memory of a process, bytes (Linux /proc). */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** An exit relay and an entry relay on loopback, the entry relay dialing one or two UDP paths. */
export class RelayPair {
  exit: BeringProcess;
  entry: BeringProcess;
  /** What the entry relay dials: the exit relay's UDP addresses, or what `via` put in front. */
  readonly peers: string[];
  private constructor(
    readonly key: string,
    readonly udp: string[],
    readonly tcp: HostPort,
    readonly forward: HostPort,
    readonly extra: { exit: string[]; entry: string[] },
    exit: BeringProcess,
    entry: BeringProcess,
  ) {
    this.exit = exit;
    this.entry = entry;
    this.peers = [...udp];
  }

  /**
   * Starts both relays and resolves once the entry relay's session is up. With `via`, the entry
   * relay dials the address it returns for each of the exit relay's (an impairment proxy).
   */
  static async start(opts: {
    forward: HostPort;
    paths?: number;
    exitArgs?: string[];
    entryArgs?: string[];
    env?: NodeJS.ProcessEnv;
    via?: (exitUdp: HostPort) => Promise<HostPort>;
  }): Promise<RelayPair> {
    const key = await keyFile();
    const udp: string[] = [];
    for (let i = 0; i < (opts.paths ?? 1); i++) udp.push(`127.0.0.1:${await freePort('udp')}`);
    const tcp = { host: '127.0.0.1', port: await freePort('tcp') };
    const extra = { exit: opts.exitArgs ?? [], entry: opts.entryArgs ?? [] };
    const pair = new RelayPair(key, udp, tcp, opts.forward, extra, null as unknown as BeringProcess, null as unknown as BeringProcess);
    try {
      pair.exit = pair.startExit(opts.env);
      await pair.exit.waitFor('listening for peers');
      if (opts.via !== undefined) {
        for (const [i, a] of udp.entries()) {
          const via = await opts.via({ host: '127.0.0.1', port: Number(a.split(':')[1]) });
          pair.peers[i] = `${via.host}:${via.port}`;
        }
      }
      pair.entry = pair.startEntry(opts.env);
      await pair.entry.waitFor('session up');
    } catch (err) {
      // The caller gets no pair to stop: relays that did not come up in time would outlive the
      // test run (on a loaded machine four pairs were left running after faults.test.ts).
      await pair.stop();
      throw err;
    }
    return pair;
  }

  /** Starts (or restarts) the exit relay on the same addresses. */
  startExit(env: NodeJS.ProcessEnv = {}): BeringProcess {
    this.exit = BeringProcess.start(
      ['relay', '--udp-listen', this.udp.join(','), '--forward', `${this.forward.host}:${this.forward.port}`, '--key-file', this.key, ...this.extra.exit],
      env,
    );
    return this.exit;
  }

  /** Starts (or restarts) the entry relay on the same addresses. */
  startEntry(env: NodeJS.ProcessEnv = {}): BeringProcess {
    this.entry = BeringProcess.start(
      ['relay', '--tcp-listen', `${this.tcp.host}:${this.tcp.port}`, '--peer', this.peers.join(','), '--key-file', this.key, ...this.extra.entry],
      env,
    );
    return this.entry;
  }

  async stop(): Promise<void> {
    await Promise.all([this.entry?.kill('SIGKILL'), this.exit?.kill('SIGKILL')]);
  }
}

/**
 * Connects to `addr`, sends `payload` and half-closes, and resolves with what came back, or
 * with `error: 'timeout'` when nothing ended the connection within `timeoutMs`.
 */
export async function exchange(addr: HostPort, payload: Uint8Array, timeoutMs: number): Promise<Received> {
  const socket = connect(addr);
  const result = collect(socket);
  socket.end(payload);
  const timer = setTimeout(() => socket.destroy(new Error('timeout')), timeoutMs);
  const r = await result;
  clearTimeout(timer);
  return r;
}

/** Resolves once `socket` closes: when (performance.now()), how long after this call, and whether it was a reset. */
export function closed(socket: net.Socket): Promise<{ at: number; afterMs: number; error: string | null }> {
  const start = performance.now();
  let error: string | null = null;
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message;
  });
  return new Promise((ok) =>
    socket.once('close', () => {
      const at = performance.now();
      ok({ at, afterMs: at - start, error });
    }),
  );
}
