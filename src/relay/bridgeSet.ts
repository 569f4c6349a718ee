/**
 * The live bridges of a relay, indexed by session and stream: routes stream events to the right
 * bridge, resets a session's bridges when it closes, logs one line per stream when it ends, and
 * lets shutdown wait until they are all gone.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { SessionEvent, StreamId } from '../session/api.ts';
import type { CoreSession } from '../io/core.ts';
import { StreamBridge, type BridgeOutcome } from './bridge.ts';

/** Totals over every stream a relay has carried, for logs and the metrics endpoint. */
export interface StreamTotals {
  opened: number;
  finished: number;
  aborted: number;
  bytesFromTcp: number;
  bytesToTcp: number;
}

/** One live stream, for the status endpoint. */
export interface StreamInfo {
  sessionId: number;
  streamId: StreamId;
  /** The service name it asked for ('' for the unnamed one). */
  service: string;
  /** The TCP side: the viewer's address (entry) or the service's (exit). */
  tcp: string;
  bytesFromTcp: number;
  bytesToTcp: number;
  ageMs: number;
}

export class BridgeSet {
  private readonly bySession = new Map<CoreSession, Map<StreamId, StreamBridge>>();
  /** What each live bridge was opened for; only read by {@link list}. */
  private readonly labels = new Map<StreamBridge, { service: string; tcp: string }>();
  private count = 0;
  private emptyWaiters: Array<() => void> = [];
  readonly totals: StreamTotals = { opened: 0, finished: 0, aborted: 0, bytesFromTcp: 0, bytesToTcp: 0 };

  constructor(
    private readonly log: Logger,
    private readonly wake: () => void,
  ) {}

  /** Number of live bridges. */
  get size(): number {
    return this.count;
  }

  /** Live bridges with their byte counts so far. */
  list(): StreamInfo[] {
    const now = performance.now();
    return [...this.labels].map(([b, l]) => ({
      sessionId: b.session.id,
      streamId: b.streamId,
      service: l.service,
      tcp: l.tcp,
      bytesFromTcp: b.bytesFromTcp,
      bytesToTcp: b.bytesToTcp,
      ageMs: now - b.openedAt,
    }));
  }

  /** Joins `socket` to a stream that was just opened (by us or by the peer) for `service`. */
  add(session: CoreSession, streamId: StreamId, socket: Socket, peer: string, service = ''): StreamBridge {
    const bridge = new StreamBridge(session, streamId, socket, this.wake, this.onDone);
    let streams = this.bySession.get(session);
    if (streams === undefined) {
      streams = new Map();
      this.bySession.set(session, streams);
    }
    streams.set(streamId, bridge);
    this.labels.set(bridge, { service, tcp: peer });
    this.count++;
    this.totals.opened++;
    this.log.info({ sessionId: session.id, streamId, tcp: peer, ...(service === '' ? {} : { service }) }, 'stream open');
    return bridge;
  }

  /**
   * Routes a stream event, or resets every bridge of a closed session. Returns false for events
   * this set does not handle (connected, streamOpened, path events).
   */
  dispatch(session: CoreSession, e: SessionEvent): boolean {
    switch (e.type) {
      case 'streamReadable':
        this.bySession.get(session)?.get(e.streamId)?.onStreamReadable();
        return true;
      case 'streamWritable':
        this.bySession.get(session)?.get(e.streamId)?.onStreamWritable();
        return true;
      case 'streamReset':
        this.bySession.get(session)?.get(e.streamId)?.onStreamReset();
        return true;
      case 'streamClosed':
        this.bySession.get(session)?.get(e.streamId)?.onStreamClosed();
        return true;
      case 'closed': {
        const streams = this.bySession.get(session);
        if (streams !== undefined) for (const b of [...streams.values()]) b.onSessionClosed();
        this.bySession.delete(session);
        return true;
      }
      default:
        return false;
    }
  }

  /** Resolves once no bridge is left, or after `timeoutMs`; returns how many were left. */
  async waitEmpty(timeoutMs: number): Promise<number> {
    if (this.count > 0) {
      await new Promise<void>((ok) => {
        const timer = setTimeout(ok, timeoutMs);
        this.emptyWaiters.push(() => {
          clearTimeout(timer);
          ok();
        });
      });
    }
    return this.count;
  }

  /** Aborts every live bridge (both sides see a reset). */
  shutDownAll(): void {
    for (const streams of this.bySession.values()) for (const b of [...streams.values()]) b.shutDown();
  }

  private readonly onDone = (bridge: StreamBridge, outcome: BridgeOutcome): void => {
    const streams = this.bySession.get(bridge.session);
    streams?.delete(bridge.streamId);
    if (streams?.size === 0) this.bySession.delete(bridge.session);
    const service = this.labels.get(bridge)?.service ?? '';
    this.labels.delete(bridge);
    this.count--;
    const t = this.totals;
    if (outcome === 'finished') t.finished++;
    else t.aborted++;
    t.bytesFromTcp += bridge.bytesFromTcp;
    t.bytesToTcp += bridge.bytesToTcp;
    this.log.info(
      {
        sessionId: bridge.session.id,
        streamId: bridge.streamId,
        ...(service === '' ? {} : { service }),
        outcome,
        bytesFromTcp: bridge.bytesFromTcp,
        bytesToTcp: bridge.bytesToTcp,
        ms: Math.round(performance.now() - bridge.openedAt),
      },
      'stream closed',
    );
    if (this.count === 0 && this.emptyWaiters.length > 0) {
      const waiters = this.emptyWaiters;
      this.emptyWaiters = [];
      for (const w of waiters) w();
    }
  };
}
