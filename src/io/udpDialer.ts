/**
 * Dialer side of the tunnel over UDP: one connected socket per `--peer` address (path id = its
 * index), one session at a time, re-dialed with backoff whenever it closes, so a restarted relay
 * pair finds each other again without help.
 */
import type { Logger } from 'pino';
import type { SessionEvent, Transmit } from '../session/api.ts';
import { formatHostPort, type HostPort } from './address.ts';
import type { CoreSession, DialFn } from './core.ts';
import type { SessionLoop, SessionSink } from './sessionLoop.ts';
import type { SessionHandler, SessionView, Transport, TransportCounters } from './transport.ts';
import { resolve, UdpSocket } from './udpSocket.ts';

/** Re-dial delays: the first retry after `initialMs`, doubling up to `maxMs`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** The default re-dial schedule: 1 s, 2 s, 4 s, 8 s, then every 10 s. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 10_000 };

export interface UdpDialerOptions {
  /** One path per address, in order; several may name the same relay. */
  peers: HostPort[];
  /** Creates the session (binds key, rng and config). */
  dial: DialFn;
  loop: SessionLoop;
  log: Logger;
  backoff?: Backoff;
  /** Wall clock for the handshake's replay bound; Date.now by default. */
  wallClock?: () => number;
}

/** Runs one dialed session at a time over real UDP sockets; see {@link Transport}. */
export class UdpDialer implements Transport, SessionSink {
  private readonly peers: HostPort[];
  private readonly dial: DialFn;
  private readonly loop: SessionLoop;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly wallClock: () => number;
  private handler: SessionHandler | null = null;
  private session: CoreSession | null = null;
  private sockets: UdpSocket[] = [];
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private connectedAt = 0;
  private handshakes = 0;

  constructor(opts: UdpDialerOptions) {
    this.peers = opts.peers;
    this.dial = opts.dial;
    this.loop = opts.loop;
    this.log = opts.log;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.wallClock = opts.wallClock ?? Date.now;
  }

  get activeSession(): CoreSession | null {
    const s = this.session;
    return s !== null && s.isConnected && !s.isClosed ? s : null;
  }

  wake(): void {
    this.loop.wake();
  }

  /** Starts the first dial; resolves once it is under way (not once it is connected). */
  async start(handler: SessionHandler): Promise<void> {
    this.handler = handler;
    await this.attempt();
  }

  async close(reason: string): Promise<void> {
    this.closing = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const session = this.session;
    if (session !== null && !session.isClosed) {
      session.close(this.loop.clock(), reason);
      this.loop.flush();
    }
    if (session !== null) this.loop.remove(session);
    this.session = null;
    await this.closeSockets();
  }

  sessionViews(): SessionView[] {
    const session = this.session;
    if (session === null) return [];
    const connectedForMs = this.connectedAt > 0 ? this.loop.clock() - this.connectedAt : null;
    return [{ session, connectedForMs, pathPeer: (pathId) => this.peerName(pathId) }];
  }

  counters(): TransportCounters {
    return { handshakes: this.handshakes, listener: null };
  }

  transmit(t: Transmit): void {
    this.sockets[t.pathId]?.sendConnected(t.bytes);
  }

  event(session: CoreSession, e: SessionEvent): void {
    if (session !== this.session) return;
    switch (e.type) {
      case 'connected':
        this.failures = 0;
        this.handshakes++;
        this.connectedAt = this.loop.clock();
        this.log.info({ sessionId: session.id, paths: this.peers.map(formatHostPort) }, 'session up');
        break;
      case 'pathUp':
        this.log.info({ sessionId: session.id, pathId: e.pathId, peer: this.peerName(e.pathId) }, 'path up');
        break;
      case 'pathDown':
        this.log.warn({ sessionId: session.id, pathId: e.pathId, peer: this.peerName(e.pathId), reason: e.reason }, 'path down');
        break;
      case 'closed':
        this.onClosed(session, e.reason, e.byPeer);
        break;
      default:
        break;
    }
    this.handler?.onSessionEvent(session, e);
  }

  private peerName(pathId: number): string {
    const p = this.peers[pathId];
    return p === undefined ? `#${pathId}` : formatHostPort(p);
  }

  private onClosed(session: CoreSession, reason: string, byPeer: boolean): void {
    const wasUp = this.connectedAt > 0;
    // Our own shutdown is news, not trouble.
    this.log[this.closing ? 'info' : 'warn'](
      {
        sessionId: session.id,
        reason,
        byPeer,
        upForMs: wasUp ? Math.round(this.loop.clock() - this.connectedAt) : 0,
        // Non-zero when the kernel refused datagrams, e.g. ICMP "port unreachable": no relay there.
        sendErrors: this.sockets.reduce((n, s) => n + s.sendErrors, 0),
      },
      wasUp || this.closing ? 'session down' : 'handshake failed',
    );
    this.connectedAt = 0;
    this.loop.remove(session);
    this.session = null;
    void this.closeSockets();
    if (!this.closing) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.failures);
    this.failures++;
    this.log.info({ inMs: delay }, 'redialing');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.attempt();
    }, delay);
  }

  /**
   * One dial: resolves every peer and connects a socket to each. A peer that cannot be resolved
   * or reached is left out of this session (its path id stays reserved); the session goes ahead
   * on the others, and only when none is usable is the whole attempt retried.
   */
  private async attempt(): Promise<void> {
    const results = await Promise.allSettled(
      this.peers.map(async (p) => UdpSocket.connect({ ...(await resolve(p.host)), port: p.port })),
    );
    const sockets: UdpSocket[] = [];
    results.forEach((r, pathId) => {
      if (r.status === 'fulfilled') {
        sockets[pathId] = r.value;
      } else {
        const err = r.reason instanceof Error ? r.reason.message : String(r.reason);
        this.log.warn({ pathId, peer: this.peerName(pathId), err }, 'cannot reach peer');
      }
    });
    const pathIds = sockets.flatMap((s, pathId) => (s === undefined ? [] : [pathId]));
    if (this.closing || pathIds.length === 0) {
      await Promise.all(pathIds.map((i) => sockets[i].close(0)));
      if (!this.closing) this.scheduleRetry();
      return;
    }
    const session = this.dial(this.loop.clock(), this.wallClock(), pathIds);
    this.session = session;
    this.sockets = sockets;
    sockets.forEach((s, pathId) => {
      s.socket.on('message', (msg: Buffer) => {
        // Late datagrams on the sockets of a closed session are not this session's business.
        if (this.session !== session) return;
        session.handleDatagram(this.loop.clock(), pathId, msg);
        this.loop.wake();
      });
    });
    this.log.info({ sessionId: session.id, peers: this.peers.map(formatHostPort) }, 'dialing');
    this.loop.add(session, this);
  }

  private async closeSockets(): Promise<void> {
    const sockets = this.sockets;
    this.sockets = [];
    // forEach and flatMap skip the holes left by unreachable peers.
    await Promise.all(sockets.flatMap((s) => [s.close()]));
  }
}
