/**
 * The orchestrator's handle on one workload endpoint process (`endpoint.ts`): starts it (in a
 * network namespace for kernel TCP), sends it commands and waits for its events.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnChild, stopChild, tailOf } from '../src/lab/children.ts';
import type { Command, Event, ReceiveResult } from './workload.ts';

const ENDPOINT = fileURLToPath(new URL('./endpoint.ts', import.meta.url));
// The tsx loader by absolute URL: `--import tsx` would resolve from the child's cwd.
const TSX_LOADER = import.meta.resolve('tsx');

type Waiter = { match: (e: Event) => boolean; ok: (e: Event) => void };

export class EndpointProcess {
  private readonly waiters = new Set<Waiter>();
  private readonly stderr: () => string;
  /** Bytes received so far per run id (from progress events), for the live progress line. */
  readonly progress = new Map<string, number>();
  /** Per run id, the receiver's progress samples: [time ms (monotonic), bytes so far]. */
  readonly samples = new Map<string, Array<[number, number]>>();
  // Kept until asked for: a fast run's `done` can arrive in the same read as its `started`,
  // before anyone waits for it.
  private readonly startedAt = new Map<string, number>();
  private readonly results = new Map<string, ReceiveResult>();
  private exitError: Error | null = null;

  private constructor(private readonly child: ChildProcess) {
    this.stderr = tailOf(child);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: Event;
      try {
        event = JSON.parse(line) as Event;
      } catch {
        return;
      }
      if (event.ev === 'started') this.startedAt.set(event.id, event.at);
      if (event.ev === 'done') this.results.set(event.id, event.result);
      if (event.ev === 'progress') {
        this.progress.set(event.id, event.bytes);
        let list = this.samples.get(event.id);
        if (list === undefined) this.samples.set(event.id, (list = []));
        list.push([event.at, event.bytes]);
      }
      for (const w of this.waiters) {
        if (w.match(event)) {
          this.waiters.delete(w);
          w.ok(event);
        }
      }
    });
    child.on('exit', (code, signal) => {
      this.exitError = new Error(`workload endpoint exited (${signal ?? code}): ${this.stderr().trim().split('\n').slice(-3).join(' | ')}`);
      for (const w of this.waiters) w.ok({ ev: 'fatal', message: this.exitError.message });
      this.waiters.clear();
    });
  }

  /**
   * Starts an endpoint: the service when `listen` is given (resolves with its port), the viewer
   * otherwise. Rejects if it does not come up within 15 s.
   */
  static async start(opts: { listen?: string; netns?: string }): Promise<{ endpoint: EndpointProcess; port: number | null }> {
    const args = ['--import', TSX_LOADER, ENDPOINT];
    if (opts.listen !== undefined) args.push('--listen', opts.listen);
    const child = spawnChild(process.execPath, args, { netns: opts.netns, stdio: ['pipe', 'pipe', 'pipe'] });
    const endpoint = new EndpointProcess(child);
    const ready = await endpoint.next((e) => e.ev === 'ready' || e.ev === 'fatal', 15_000);
    if (ready?.ev !== 'ready') {
      await endpoint.close();
      throw new Error(ready?.ev === 'fatal' ? ready.message : 'workload endpoint did not start within 15 s');
    }
    return { endpoint, port: ready.port };
  }

  send(cmd: Command): void {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Resolves with the `started` time (ms, monotonic) of run `id`. */
  async started(id: string, timeoutMs: number): Promise<number> {
    const e = this.startedAt.has(id) ? null : await this.next((e) => (e.ev === 'started' && e.id === id) || e.ev === 'fatal', timeoutMs);
    const at = this.startedAt.get(id);
    this.startedAt.delete(id);
    if (at !== undefined) return at;
    throw new Error(e?.ev === 'fatal' ? e.message : `run ${id} did not start`);
  }

  /** Resolves with run `id`'s receive result, or null if none came within `timeoutMs`. */
  async done(id: string, timeoutMs: number): Promise<ReceiveResult | null> {
    const e = this.results.has(id) ? null : await this.next((e) => (e.ev === 'done' && e.id === id) || e.ev === 'fatal', timeoutMs);
    if (e?.ev === 'fatal') throw new Error(e.message);
    const result = this.results.get(id) ?? null;
    this.results.delete(id);
    return result;
  }

  /** Closes stdin (the endpoint exits on its own) and makes sure it is gone. */
  async close(): Promise<void> {
    this.child.stdin?.end();
    await stopChild(this.child, 'SIGTERM', 2000);
  }

  /** The next event matching `match`, or null after `timeoutMs`. */
  private next(match: (e: Event) => boolean, timeoutMs: number): Promise<Event | null> {
    if (this.exitError !== null) return Promise.resolve({ ev: 'fatal', message: this.exitError.message });
    return new Promise((ok) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        ok(null);
      }, timeoutMs);
      const waiter: Waiter = {
        match,
        ok: (e) => {
          clearTimeout(timer);
          ok(e);
        },
      };
      this.waiters.add(waiter);
    });
  }
}
