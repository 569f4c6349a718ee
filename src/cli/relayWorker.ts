/**
 * One worker thread of `bering relay --workers N` (relayShards.ts starts them through
 * bin/worker.mjs): a whole listening exit relay over its share of the sessions. It parses the
 * same arguments as the main thread, takes 1/N of the session, stream and handshake limits and
 * the session ids of its residue modulo N, and reads and writes the main thread's sockets through
 * {@link ChannelSockets}. Its TCP connections to the service are its own.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { HostPort } from '../io/address.ts';
import { ChannelSockets, type ChannelMemory } from '../io/shardChannel.ts';
import type { RelayStatus } from '../metrics/status.ts';
import { loadFec } from '../fec/index.ts';
import { DEFAULT_MAX_STREAMS } from '../relay/admission.ts';
import { sessionCore, startRelay, type ListenerLimits } from '../relay/startRelay.ts';
import type { StreamTotals } from '../relay/bridgeSet.ts';
import { relayStatus } from '../relay/status.ts';
import { DEFAULT_HANDSHAKE_RATE, DEFAULT_MAX_SESSIONS } from '../session/listener.ts';
import { createLogger } from './logger.ts';
import { parseRelayArgs, type RelaySettings } from './relayOptions.ts';
import { keepWarming, startModelLog, tcpRole, warmUpBeforeListening } from './relayRuntime.ts';
import { version } from './version.ts';

/** What the main thread gives a worker as it starts. */
export interface RelayWorkerData {
  /** The `bering relay` arguments, parsed again here (a config file is read again). */
  args: string[];
  shard: number;
  shards: number;
  /** The main thread's bound UDP addresses, in its socket order. */
  locals: HostPort[];
  /** The shared memory of this worker's channel to the main thread. */
  memory: ChannelMemory;
  /** Whether the main thread's sockets send and receive in batches. */
  batchedIo: boolean;
}

/** Messages from the main thread. */
export type ToWorker =
  /** Datagrams wait in the channel. */
  | { kind: 'wake' }
  | { kind: 'status'; id: number }
  | { kind: 'stop'; drainTimeoutMs: number };

/** Messages to the main thread. */
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  /** Datagrams wait in the channel. */
  | { kind: 'wake' }
  | { kind: 'sessions'; count: number }
  | { kind: 'status'; id: number; status: RelayStatus }
  /** `channelDrops`: datagrams this worker could not hand to the main thread (its ring was full). */
  | { kind: 'stopped'; reset: number; totals: StreamTotals; channelDrops: number };

/** How often a worker tells the main thread its session count (where new handshakes go). */
const SESSION_COUNT_EVERY_MS = 200;

/** 1/`shards` of a limit, at least 1. */
function share(limit: number, shards: number): number {
  return Math.max(1, Math.ceil(limit / shards));
}

/** The listener limits of one of `shards` workers. */
function shardLimits(settings: RelaySettings, shard: number, shards: number): { listener: ListenerLimits; maxStreams: number } {
  const rate = settings.listener.handshakeRate ?? DEFAULT_HANDSHAKE_RATE;
  return {
    listener: {
      maxSessions: share(settings.listener.maxSessions ?? DEFAULT_MAX_SESSIONS, shards),
      handshakeRate: { perSecond: rate.perSecond / shards, burst: share(rate.burst, shards) },
      sessionIds: { shards, shard },
    },
    maxStreams: share(settings.maxStreams ?? DEFAULT_MAX_STREAMS, shards),
  };
}

async function run(data: RelayWorkerData, port: MessagePort): Promise<void> {
  const post = (message: FromWorker): void => port.postMessage(message);
  const settings = parseRelayArgs(data.args);
  if (settings === null) throw new Error('a worker was started without relay settings');
  const log = createLogger().child({ worker: data.shard });
  const fec = loadFec();
  const startedAt = performance.now();
  const warm = await warmUpBeforeListening(fec, log);
  const channel = new ChannelSockets(data.memory, () => post({ kind: 'wake' }), data.locals, data.batchedIo);
  const limits = shardLimits(settings, data.shard, data.shards);
  const relay = await startRelay({
    tcp: tcpRole(settings),
    udp: { listen: data.locals, bind: channel.bind },
    core: sessionCore(settings.psk, settings.session, limits.listener, fec),
    maxStreams: limits.maxStreams,
    log,
  });
  // Told even when unchanged: the main thread then forgets the handshakes it sent since, which
  // were either counted here or refused (forgeries among them).
  const sessionCount = setInterval(() => post({ kind: 'sessions', count: relay.transport.sessionViews().length }), SESSION_COUNT_EVERY_MS);
  keepWarming(warm, relay, log);
  const modelLog = startModelLog(relay, log);
  port.on('message', (message: ToWorker) => {
    switch (message.kind) {
      case 'wake':
        channel.end.read();
        break;
      case 'status':
        post({ kind: 'status', id: message.id, status: relayStatus(relay, version(), startedAt) });
        break;
      case 'stop':
        clearInterval(sessionCount);
        if (modelLog !== null) clearInterval(modelLog);
        void relay.stop(message.drainTimeoutMs).then((reset) => {
          channel.end.publish();
          post({ kind: 'stopped', reset, totals: relay.totals, channelDrops: channel.end.writer.dropped });
        });
        break;
    }
  });
  channel.end.read();
  post({ kind: 'ready' });
}

if (parentPort !== null) {
  const port = parentPort;
  run(workerData as RelayWorkerData, port).catch((err: unknown) => {
    port.postMessage({ kind: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies FromWorker);
  });
}
