import type { PathSpec } from '../../src/sim/network.ts';
import type { SessionConfig } from '../../src/session/config.ts';
import type { SessionEvent } from '../../src/session/api.ts';
import type { Session } from '../../src/session/session.ts';
import type { HostConfig } from '../../src/sim/host.ts';
import { PatternReader, PatternWriter, tunnelPair } from './tunnelPair.ts';

export interface BulkResult {
  delivered: number;
  corruptAt: number;
  fin: boolean;
  /** When the writer wrote its first byte (the session's handshake and, reversed, the open's round trip came before). */
  startedAtMs: number;
  finishedAtMs: number;
  /** Receive progress samples (time ms, bytes). */
  progress: Array<[number, number]>;
  queueDrops: number;
  /** Queue drops after `steadyFromMs` (start-up overshoot excluded). */
  steadyQueueDrops: number;
  lossDrops: number;
  sent: number;
  simEvents: number;
  /** After `steadyFromMs`: retransmitted stream bytes per delivered byte, repair packets per source packet. */
  steady: { retransmittedFraction: number; fecOverhead: number };
  /** Stream bytes the sender had to send again (ARQ). */
  retransmittedBytes: number;
  /** Repair bytes' share of what the sender sent. */
  fecOverhead: number;
  senderStats: ReturnType<Session['stats']>;
  receiverStats: ReturnType<Session['stats']>;
}

/**
 * One bulk transfer of `bytes` from dialer to listener (or back with `reverse`) over the given
 * simulated paths; runs until the reader saw FIN or `limitMs` of simulated time passed.
 */
export function runBulk(opts: {
  paths: PathSpec[];
  seed: number;
  bytes: number;
  limitMs: number;
  reverse?: boolean;
  config?: Partial<SessionConfig>;
  steadyFromMs?: number;
  fec?: boolean;
  /** Open the stream no earlier than this (the session idles until then). */
  startAtMs?: number;
  onDialerEvent?: (ev: SessionEvent) => void;
  setup?: (net: ReturnType<typeof tunnelPair>['net']) => void;
  /** Run both ends on modelled hosts (CPU per packet, timers). */
  host?: HostConfig;
}): BulkResult {
  const { dialer, listenerNode, net, wake } = tunnelPair({ paths: opts.paths, seed: opts.seed, config: opts.config, fec: opts.fec, host: opts.host });
  let writer: PatternWriter | null = null;
  let startedAtMs = -1;
  let reader: PatternReader | null = null;
  let opened = false;
  opts.setup?.(net);
  const queueDropsNow = () => net.links.reduce((sum, l) => sum + l.aToB.stats.droppedQueue + l.bToA.stats.droppedQueue, 0);
  let dropsAtSteady = 0;
  let steadyStart = { retransmitted: 0, delivered: 0, repairs: 0, packets: 0 };
  const serverNow = (): Session | undefined => listenerNode.peerOf(dialer);
  const senderFigures = () => {
    const st = (opts.reverse ? serverNow() : dialer)?.stats();
    // A session still handshaking (a lossy random path) has no path yet, or no session at all.
    const counters = st?.paths[0]?.counters;
    return {
      retransmitted: st?.retransmittedBytes ?? 0,
      delivered: (reader as PatternReader | null)?.received ?? 0,
      repairs: counters?.fecRepairsSent ?? 0,
      packets: counters?.packetsSent ?? 0,
    };
  };
  net.at(opts.steadyFromMs ?? 3000, () => {
    dropsAtSteady = queueDropsNow();
    steadyStart = senderFigures();
  });
  net.onStep((now) => {
    const server = serverNow();
    if (!opened && dialer.isConnected && now >= (opts.startAtMs ?? 0)) {
      opened = true;
      const id = dialer.openStream('bulk')!;
      if (opts.reverse) {
        reader = new PatternReader(dialer, id);
        dialer.streamWrite(id, new Uint8Array([1]));
        // The one-byte kick moves no counter below: tell the host, or the open waits for a timer.
        wake(now);
      } else {
        writer = new PatternWriter(dialer, id, opts.bytes);
        startedAtMs = now;
      }
    }
    for (const session of [dialer, server]) {
      if (session === undefined) continue;
      for (let ev = session.pollEvent(); ev !== null; ev = session.pollEvent()) {
        if (session === dialer) opts.onDialerEvent?.(ev);
        if (ev.type === 'streamOpened' && session === server) {
          if (opts.reverse) {
            writer = new PatternWriter(server, ev.streamId, opts.bytes);
            startedAtMs = now;
          } else {
            reader = new PatternReader(server, ev.streamId);
          }
        }
      }
    }
    if (opts.reverse && server !== undefined && writer !== null) {
      // Swallow the one-byte kick so the stream's receive side stays clean.
      server.streamRead(writer.streamId);
    }
    const before = (writer?.offset ?? 0) + ((reader as PatternReader | null)?.received ?? 0);
    writer?.pump();
    (reader as PatternReader | null)?.pump(now);
    if ((writer?.offset ?? 0) + ((reader as PatternReader | null)?.received ?? 0) !== before) wake(now);
  });
  net.runUntil(opts.limitMs, () => (reader as PatternReader | null)?.fin === true);
  const r = reader as PatternReader | null;
  const serverSession = serverNow();
  if (serverSession === undefined) throw new Error('the listener never accepted the session');
  const sender = opts.reverse ? serverSession : dialer;
  const senderPath = sender.stats().paths[0];
  let queueDrops = 0;
  let lossDrops = 0;
  let sent = 0;
  for (const l of net.links) {
    for (const link of [l.aToB, l.bToA]) {
      queueDrops += link.stats.droppedQueue;
      lossDrops += link.stats.droppedLoss;
      sent += link.stats.sent;
    }
  }
  return {
    delivered: r?.received ?? 0,
    corruptAt: r?.corruptAt ?? -1,
    fin: r?.fin ?? false,
    startedAtMs,
    finishedAtMs: r?.finAt ?? -1,
    progress: r?.progress ?? [],
    queueDrops,
    steadyQueueDrops: queueDrops - dropsAtSteady,
    lossDrops,
    sent,
    simEvents: net.stats.events,
    retransmittedBytes: sender.stats().retransmittedBytes,
    steady: (() => {
      const end = senderFigures();
      const delivered = end.delivered - steadyStart.delivered;
      const packets = end.packets - steadyStart.packets;
      const repairs = end.repairs - steadyStart.repairs;
      return {
        retransmittedFraction: (end.retransmitted - steadyStart.retransmitted) / Math.max(1, delivered),
        fecOverhead: repairs / Math.max(1, packets - repairs),
      };
    })(),
    fecOverhead: senderPath.counters.fecRepairsSent / Math.max(1, senderPath.counters.packetsSent),
    senderStats: sender.stats(),
    receiverStats: (opts.reverse ? dialer : serverSession).stats(),
  };
}
