/**
 * `bering relay --workers N`: a listening exit relay whose sessions run on N worker threads
 * (relayWorker.ts), while the main thread reads and writes the UDP sockets and routes each
 * datagram to its session's worker (src/io/shardRouter.ts). One session is still one thread's
 * work; N sessions (several entry relays) use N cores, and even one session gets the sockets'
 * system calls off its thread. The main thread also serves the metrics endpoint, from its
 * workers' snapshots put together.
 *
 * A worker that dies takes its sessions with it: it is started again at once, and their entry
 * relays redial (their next handshake lands on whichever worker has fewest sessions).
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { formatHostPort } from '../io/address.ts';
import { Diagnostics } from '../io/diagnosis.ts';
import { ShardRouter } from '../io/shardRouter.ts';
import { probeSocketBuffers } from '../io/socketBuffers.ts';
import { startMetricsServer, type MetricsServer } from '../metrics/server.ts';
import { combineShardStatuses, type RelayStatus } from '../metrics/status.ts';
import type { StreamTotals } from '../relay/bridgeSet.ts';
import { CliError } from './errors.ts';
import type { RelaySettings } from './relayOptions.ts';
import { exitOnSecondSignal, stopSignal } from './relayRuntime.ts';
import type { FromWorker, RelayWorkerData, ToWorker } from './relayWorker.ts';
import { version } from './version.ts';

/** A worker's status that has not come within this long is left out of the snapshot. */
const STATUS_TIMEOUT_MS = 2000;
/** Beyond the drain timeout, how long a stopping worker may take before it is cut off. */
const STOP_GRACE_MS = 5000;

/** What the workers say as they stop, added up. */
interface StopReport {
  reset: number;
  totals: StreamTotals;
  /** Datagrams the workers could not hand to the main thread. */
  channelDrops: number;
}

/** The worker threads and the router between them and the sockets. */
class Shards {
  readonly workers: Worker[] = [];
  private readonly statusWaiters = new Map<number, { shard: number; done: (s: RelayStatus | null) => void }>();
  private nextStatusId = 0;
  private readonly stopWaiters = new Map<number, (r: StopReport | null) => void>();
  private stopping = false;

  constructor(
    private readonly args: string[],
    readonly router: ShardRouter,
    private readonly count: number,
    private readonly log: Logger,
  ) {}

  post(shard: number, message: ToWorker): void {
    this.workers[shard]?.postMessage(message);
  }

  /** Starts worker `shard`; resolves once it listens, rejects with why it could not. */
  start(shard: number): Promise<void> {
    const data: RelayWorkerData = { args: this.args, shard, shards: this.count, locals: this.router.addresses, memory: this.router.memory[shard], batchedIo: this.router.batched };
    const worker = new Worker(new URL('../../bin/worker.mjs', import.meta.url), { workerData: { module: 'src/cli/relayWorker.ts', ...data } });
    this.workers[shard] = worker;
    return new Promise((ready, failed) => {
      let up = false;
      worker.on('message', (m: FromWorker) => {
        switch (m.kind) {
          case 'wake':
            this.router.read(shard);
            break;
          case 'sessions':
            this.router.setSessionCount(shard, m.count);
            break;
          case 'status':
            this.statusWaiters.get(m.id)?.done(m.status);
            this.statusWaiters.delete(m.id);
            break;
          case 'stopped':
            this.stopWaiters.get(shard)?.({ reset: m.reset, totals: m.totals, channelDrops: m.channelDrops });
            this.stopWaiters.delete(shard);
            break;
          case 'ready':
            up = true;
            ready();
            break;
          case 'failed':
            failed(new CliError(m.message));
            void worker.terminate();
            break;
        }
      });
      worker.on('error', (err) => {
        if (!up) failed(err);
        else this.log.error({ worker: shard, err: err.message }, 'worker failed');
      });
      worker.on('exit', (code) => {
        for (const [id, w] of this.statusWaiters) {
          if (w.shard !== shard) continue;
          w.done(null);
          this.statusWaiters.delete(id);
        }
        this.stopWaiters.get(shard)?.(null);
        this.stopWaiters.delete(shard);
        this.router.setSessionCount(shard, 0);
        if (!up) {
          failed(new CliError(`worker ${shard} exited (code ${code}) before it was ready`));
          return;
        }
        if (this.stopping || this.workers[shard] !== worker) return;
        this.log.error({ worker: shard, code }, 'worker exited: its sessions are gone (their entry relays redial); starting it again');
        this.start(shard).catch((err: unknown) => this.log.error({ worker: shard, err: String(err) }, 'worker could not be started again'));
      });
    });
  }

  /** Every worker's snapshot by worker number (those that answer within {@link STATUS_TIMEOUT_MS}). */
  async statuses(): Promise<Map<number, RelayStatus>> {
    const asks = this.workers.map(
      (_, shard) =>
        new Promise<RelayStatus | null>((done) => {
          const id = this.nextStatusId++;
          const timer = setTimeout(() => {
            this.statusWaiters.delete(id);
            done(null);
          }, STATUS_TIMEOUT_MS);
          this.statusWaiters.set(id, {
            shard,
            done: (s) => {
              clearTimeout(timer);
              done(s);
            },
          });
          this.post(shard, { kind: 'status', id });
        }),
    );
    const answers = await Promise.all(asks);
    return new Map(answers.flatMap((s, shard) => (s === null ? [] : [[shard, s] as const])));
  }

  /** Drains every worker (see `Relay.stop`), then ends them; resolves with what they report. */
  async stop(drainTimeoutMs: number): Promise<StopReport> {
    this.stopping = true;
    const sum: StopReport = { reset: 0, totals: { opened: 0, finished: 0, aborted: 0, bytesFromTcp: 0, bytesToTcp: 0 }, channelDrops: 0 };
    const results = await Promise.all(
      this.workers.map(
        (_, shard) =>
          new Promise<StopReport | null>((done) => {
            const timer = setTimeout(() => done(null), drainTimeoutMs + STOP_GRACE_MS);
            this.stopWaiters.set(shard, (r) => {
              clearTimeout(timer);
              done(r);
            });
            this.post(shard, { kind: 'stop', drainTimeoutMs });
          }),
      ),
    );
    for (const r of results) {
      if (r === null) continue;
      sum.reset += r.reset;
      sum.channelDrops += r.channelDrops;
      for (const k of Object.keys(sum.totals) as Array<keyof StreamTotals>) sum.totals[k] += r.totals[k];
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
    return sum;
  }

  /** Ends every worker at once (start-up failed). */
  async abort(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Runs a relay with `settings.workers` worker threads until SIGTERM/SIGINT; resolves with the exit status. */
export async function runShards(args: string[], settings: RelaySettings, log: Logger): Promise<number> {
  if ((process.env.BERING_STREAM_TRACE ?? '') !== '') throw new CliError('BERING_STREAM_TRACE traces one thread\'s streams: run the relay with --workers 0 to trace');
  const startedAt = performance.now();
  const diagnostics = new Diagnostics(log);
  let shards: Shards | null = null;
  const router = new ShardRouter({
    listen: settings.udpListen!,
    shards: settings.workers,
    wake: (shard) => shards?.post(shard, { kind: 'wake' }),
    log,
  });
  await router.start();
  const running = new Shards(args, router, settings.workers, log);
  shards = running;
  try {
    await Promise.all(Array.from({ length: settings.workers }, (_, shard) => running.start(shard)));
  } catch (err) {
    await running.abort();
    await router.close(0);
    throw err;
  }
  const udp = router.addresses.map(formatHostPort);
  const status = async (): Promise<RelayStatus> =>
    combineShardStatuses(await running.statuses(), {
      version: version(),
      uptimeSeconds: (performance.now() - startedAt) / 1000,
      udp,
      unroutable: router.unroutable,
      problems: diagnostics.list(),
    });
  let metrics: MetricsServer | null = null;
  if (settings.metrics !== undefined) {
    try {
      metrics = await startMetricsServer({ listen: settings.metrics, status, log });
    } catch (err) {
      await running.stop(0);
      await router.close(0);
      throw err;
    }
    log.info({ metrics: formatHostPort(metrics.address), dashboard: `http://${formatHostPort(metrics.address)}/` }, 'serving metrics');
  }
  log.info(
    {
      role: 'exit',
      forward: settings.forward === undefined ? null : formatHostPort(settings.forward),
      services: settings.services.map((s) => `${s.name}=${formatHostPort(s.address)}`),
      udp,
      workers: settings.workers,
    },
    'relay running',
  );
  await probeSocketBuffers(diagnostics);

  const signal = await stopSignal();
  const impatient = exitOnSecondSignal(log);
  log.info({ signal, drainTimeoutMs: settings.drainTimeoutMs }, 'shutting down');
  const stopped = await running.stop(settings.drainTimeoutMs);
  // After the workers: their sessions' close packets go out through these sockets.
  await router.close();
  await metrics?.close();
  impatient.cancel();
  // Datagrams lost inside this process, if any: a worker too far behind, a socket buffer full.
  log.info(
    { resetStreams: stopped.reset, streams: stopped.totals, channelDrops: router.channelDrops + stopped.channelDrops, sendErrors: router.sendErrors },
    'stopped',
  );
  return 0;
}
