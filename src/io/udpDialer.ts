/**
 * Dialer side of the tunnel over UDP: one connected socket per `--peer` address (path id = its
 * index), one session at a time, re-dialed with backoff whenever it closes, so a restarted relay
 * pair finds each other again without help. A `webrtc://` peer is a WebRTC data channel instead
 * of a socket (src/io/webrtcPath.ts); the session cannot tell the two apart.
 */
import type { Logger } from 'pino';
import type { SessionEvent, Transmit } from '../session/api.ts';
import { formatHostPort, type HostPort } from './address.ts';
import type { CoreSession, DialFn } from './core.ts';
import type { SessionLoop, SessionSink } from './sessionLoop.ts';
import type { SessionHandler, SessionView, Transport, TransportCounters } from './transport.ts';
import { resolve, UdpSocket } from './udpSocket.ts';
import { loadNative } from './webrtcNative.ts';
import { WebRtcPath } from './webrtcPath.ts';
import { signallingKey } from './webrtcSignal.ts';

/** Re-dial delays: the first retry after `initialMs`, doubling up to `maxMs`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** The default re-dial schedule: 1 s, 2 s, 4 s, 8 s, then every 10 s. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 10_000 };

/** One `--peer`: a UDP address, or with `webrtc` the exit relay's WebRTC signalling endpoint. */
export interface PeerAddress extends HostPort {
  webrtc?: boolean;
}

/** A peer as the user writes it: `H:P`, or `webrtc://H:P`. */
export function formatPeer(p: PeerAddress): string {
  return p.webrtc === true ? `webrtc://${formatHostPort(p)}` : formatHostPort(p);
}

/** What WebRTC paths need besides their address. */
export interface WebRtcDialOptions {
  /** The pre-shared key: signalling is authenticated with a key derived from it. */
  psk: Uint8Array;
  /** `stun:host:port` / `turn:user:pass@host:port` URLs; none by default. */
  stunServers?: readonly string[];
}

export interface UdpDialerOptions {
  /** One path per address, in order; several may name the same relay. */
  peers: PeerAddress[];
  /** Required when a peer is `webrtc`. */
  webrtc?: WebRtcDialOptions;
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
  private readonly peers: PeerAddress[];
  private readonly dial: DialFn;
  private readonly loop: SessionLoop;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly wallClock: () => number;
  private readonly webrtc: WebRtcDialOptions | undefined;
  private handler: SessionHandler | null = null;
  private session: CoreSession | null = null;
  private sockets: UdpSocket[] = [];
  /** The current session's WebRTC paths, by path id. */
  private webrtcPaths: WebRtcPath[] = [];
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
    this.webrtc = opts.webrtc;
    if (opts.peers.some((p) => p.webrtc === true) && opts.webrtc === undefined) throw new Error('webrtc:// peers need the WebRTC options');
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
    // A missing node-datachannel is a startup error, not a path that never comes up.
    if (this.peers.some((p) => p.webrtc === true)) await loadNative();
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
    const socket = this.sockets[t.pathId];
    if (socket !== undefined) socket.sendConnected(t.bytes);
    else this.webrtcPaths[t.pathId]?.send(t.bytes);
  }

  event(session: CoreSession, e: SessionEvent): void {
    if (session !== this.session) return;
    switch (e.type) {
      case 'connected':
        this.failures = 0;
        this.handshakes++;
        this.connectedAt = this.loop.clock();
        this.log.info({ sessionId: session.id, paths: this.peers.map(formatPeer) }, 'session up');
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
    return p === undefined ? `#${pathId}` : formatPeer(p);
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
   * on the others, and only when none is usable is the whole attempt retried. A WebRTC path stays
   * in the session while its channel is being set up (it joins when it answers the session's
   * probes); only when there is no UDP path does the dial wait for a channel to open first.
   */
  private async attempt(): Promise<void> {
    let session: CoreSession | null = null;
    const firstTries = this.startWebRtcPaths((pathId, bytes) => {
      // Packets of an earlier session's channels are not this session's business.
      if (session === null || this.session !== session) return;
      session.handleDatagram(this.loop.clock(), pathId, bytes);
      this.loop.wake();
    });
    const results = await Promise.allSettled(
      this.peers.map(async (p) => (p.webrtc === true ? null : UdpSocket.connect({ ...(await resolve(p.host)), port: p.port }))),
    );
    const sockets: UdpSocket[] = [];
    results.forEach((r, pathId) => {
      if (r.status === 'fulfilled') {
        if (r.value !== null) sockets[pathId] = r.value;
      } else {
        const err = r.reason instanceof Error ? r.reason.message : String(r.reason);
        this.log.warn({ pathId, peer: this.peerName(pathId), err }, 'cannot reach peer');
      }
    });
    const udpPathIds = sockets.flatMap((s, pathId) => (s === undefined ? [] : [pathId]));
    const webrtcPathIds = this.webrtcPaths.flatMap((p, pathId) => (p === undefined ? [] : [pathId]));
    const usable = udpPathIds.length > 0 || (await anyOpens(firstTries));
    if (this.closing || !usable) {
      await Promise.all(udpPathIds.map((i) => sockets[i].close(0)));
      if (!this.closing) {
        void this.closeWebRtcPaths();
        this.scheduleRetry();
      }
      return;
    }
    const pathIds = [...udpPathIds, ...webrtcPathIds].sort((a, b) => a - b);
    session = this.dial(this.loop.clock(), this.wallClock(), pathIds);
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
    this.log.info({ sessionId: session.id, peers: this.peers.map(formatPeer) }, 'dialing');
    this.loop.add(session, this);
  }

  /**
   * Starts a path for every WebRTC peer (replacing the last session's); returns the outcomes of
   * their first tries, which only matter when there is no UDP path.
   */
  private startWebRtcPaths(onMessage: (pathId: number, bytes: Uint8Array) => void): Array<Promise<boolean>> {
    const webrtc = this.webrtc;
    this.webrtcPaths = [];
    if (webrtc === undefined) return [];
    const key = signallingKey(webrtc.psk);
    const firstTries: Array<Promise<boolean>> = [];
    this.peers.forEach((p, pathId) => {
      if (p.webrtc !== true) return;
      const path = new WebRtcPath({
        endpoint: p,
        key,
        stunServers: webrtc.stunServers,
        pathId,
        onMessage: (bytes) => onMessage(pathId, bytes),
        log: this.log,
        backoff: this.backoff,
        wallClock: this.wallClock,
      });
      this.webrtcPaths[pathId] = path;
      firstTries.push(path.start());
    });
    return firstTries;
  }

  private async closeWebRtcPaths(): Promise<void> {
    const paths = this.webrtcPaths;
    this.webrtcPaths = [];
    await Promise.all(paths.flatMap((p) => [p.close()]));
  }

  private async closeSockets(): Promise<void> {
    const sockets = this.sockets;
    this.sockets = [];
    // forEach and flatMap skip the holes left by unreachable peers.
    await Promise.all([this.closeWebRtcPaths(), ...sockets.flatMap((s) => [s.close()])]);
  }
}

/** True as soon as one of `tries` opens; false once all of them failed (or there are none). */
function anyOpens(tries: Array<Promise<boolean>>): Promise<boolean> {
  return new Promise((ok) => {
    let left = tries.length;
    if (left === 0) ok(false);
    for (const t of tries) {
      void t.then((open) => {
        if (open) ok(true);
        else if (--left === 0) ok(false);
      });
    }
  });
}
