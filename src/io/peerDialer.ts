/**
 * The dialing relay's transport: one path per `--peer` (path id = its index), each a connected UDP
 * socket or, for a `webrtc://` peer, a WebRTC data channel (src/io/webrtcPath.ts); the session
 * cannot tell the two apart. One dial at a time, re-dialed with backoff whenever its session
 * closes, so a restarted relay pair finds each other again without help.
 *
 * Which session a datagram is for, and whether the peer restarted, is the core's business
 * (src/session/dialerEndpoint.ts): this module feeds it datagrams, session events and refused
 * paths, wakes it when it asks, and does what it says (drive a new session, log, tell the relay).
 */
import type { Logger } from 'pino';
import type { PathId, SessionEvent, Transmit } from '../session/api.ts';
import { DialerEndpoint, type EndpointEvent, type RestartCheck } from '../session/dialerEndpoint.ts';
import type { Millis } from '../base/time.ts';
import { formatHostPort, type HostPort } from './address.ts';
import { backoffDelay, DEFAULT_BACKOFF, type Backoff } from './backoff.ts';
import type { CoreSession, DialFn } from './core.ts';
import { Diagnostics } from './diagnosis.ts';
import type { SessionLoop, SessionSink } from './sessionLoop.ts';
import type { SessionHandler, SessionView, Transport, TransportCounters } from './transport.ts';
import { resolve, UdpSocket } from './udpSocket.ts';
import { loadNative } from './webrtcNative.ts';
import { WebRtcPath } from './webrtcPath.ts';
import { signallingKey } from './webrtcSignal.ts';

/**
 * A handshake unanswered, or a path of a live session silent, this long is worth a log line: a
 * path is validated within a few round trips (PATH_CHALLENGE every 500 ms), so 4 s is well past
 * a slow answer, and the line goes out within 5 s of the dial.
 */
const SILENT_PATH_MS = 4000;
/** How often the dialer looks for those: often enough that a line is at most a quarter second late. */
const DIAGNOSE_INTERVAL_MS = 250;

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

export interface PeerDialerOptions {
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
  /** When to check whether the peer restarted; the core's default (src/session/dialerEndpoint.ts) if unset. */
  restartCheck?: RestartCheck;
  /** Where problems a self-hoster should hear about go (no answer, a silent path); one of its own by default. */
  diagnostics?: Diagnostics;
}

/** Runs one dial at a time over UDP sockets and WebRTC channels; see {@link Transport}. */
export class PeerDialer implements Transport, SessionSink {
  private readonly peers: PeerAddress[];
  private readonly loop: SessionLoop;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly wallClock: () => number;
  private readonly webrtc: WebRtcDialOptions | undefined;
  private handler: SessionHandler | null = null;
  private readonly endpoint: DialerEndpoint<CoreSession>;
  private sockets: UdpSocket[] = [];
  /** The current session's WebRTC paths, by path id. */
  private webrtcPaths: WebRtcPath[] = [];
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private connectedAt = 0;
  private handshakes = 0;
  /** Path ids of the current dial: its sockets (and WebRTC paths) serve every session of it. */
  private pathIds: PathId[] = [];
  /** Bumped by every dial; message handlers of an earlier dial drop what they get. */
  private generation = 0;
  /** Wakes the endpoint when it asked to be woken (at {@link endpointTimerAt}, or earlier). */
  private endpointTimer: NodeJS.Timeout | null = null;
  private endpointTimerAt: Millis = 0;
  private diagnoseTimer: NodeJS.Timeout | null = null;
  /** When the current session was dialed. */
  private dialedAt: Millis = 0;
  /** Paths of the current session that have been up at least once. */
  private pathsSeenUp = new Set<PathId>();
  readonly diagnostics: Diagnostics;

  constructor(opts: PeerDialerOptions) {
    this.peers = opts.peers;
    this.loop = opts.loop;
    this.log = opts.log;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.wallClock = opts.wallClock ?? Date.now;
    this.webrtc = opts.webrtc;
    this.endpoint = new DialerEndpoint({ dial: opts.dial, restartCheck: opts.restartCheck });
    this.diagnostics = opts.diagnostics ?? new Diagnostics(opts.log);
    if (opts.peers.some((p) => p.webrtc === true) && opts.webrtc === undefined) throw new Error('webrtc:// peers need the WebRTC options');
  }

  /** The session the relay uses (the dial's, or the one that replaced it after a peer restart). */
  private get session(): CoreSession | null {
    return this.endpoint.session;
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
    this.diagnoseTimer = setInterval(this.diagnose, DIAGNOSE_INTERVAL_MS);
    this.diagnoseTimer.unref();
    await this.attempt();
  }

  /**
   * A connection is waiting for the tunnel: if a redial is scheduled, do it now rather than at
   * the end of the backoff (the peer may have been back for a while). A dial under way is left
   * alone.
   */
  redialNow(): void {
    if (this.retryTimer === null || this.closing) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.log.info('a connection is waiting for the tunnel: redialing now');
    void this.attempt();
  }

  async close(reason: string): Promise<void> {
    this.closing = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.endpointTimer !== null) clearTimeout(this.endpointTimer);
    this.endpointTimer = null;
    if (this.diagnoseTimer !== null) clearInterval(this.diagnoseTimer);
    this.diagnoseTimer = null;
    const sessions = this.endpoint.sessions();
    const now = this.loop.clock();
    for (const s of sessions) if (!s.isClosed) s.close(now, reason);
    this.loop.flush();
    for (const s of sessions) this.loop.remove(s);
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
    const now = this.loop.clock();
    const current = session === this.session;
    const visible = this.endpoint.handleEvent(now, session, e);
    if (e.type === 'closed') this.loop.remove(session);
    if (current) this.currentEvent(session, e);
    this.afterEndpoint();
    if (visible) this.handler?.onSessionEvent(session, e);
  }

  /** An event of the session the relay uses, for the logs, the diagnosis and the redial. */
  private currentEvent(session: CoreSession, e: SessionEvent): void {
    switch (e.type) {
      case 'connected':
        this.failures = 0;
        this.handshakes++;
        this.connectedAt = this.loop.clock();
        this.log.info({ sessionId: session.id, tunnel: session.tunnelId ?? null, paths: this.peers.map(formatPeer) }, 'session up');
        this.diagnostics.clear('peer-unreachable', 'tunnel', 'the other relay answered the handshake');
        break;
      case 'pathUp':
        this.log.info({ sessionId: session.id, pathId: e.pathId, peer: this.peerName(e.pathId) }, 'path up');
        this.pathsSeenUp.add(e.pathId);
        this.diagnostics.clear('path-silent', `path ${e.pathId}`, `path ${e.pathId} (${this.peerName(e.pathId)}) answered`);
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
  }

  /** Acts on what the endpoint did (a restart check, a replaced session) and re-arms its wake-up. */
  private afterEndpoint(): void {
    // Shutting down, the endpoint may still hand over to a closing check: nothing to act on.
    for (let e = this.endpoint.pollEvent(); e !== null; e = this.endpoint.pollEvent()) if (!this.closing) this.endpointEvent(e);
    const at = this.endpoint.nextTimeout();
    // Every datagram moves the wake-up later: a timer set for earlier stays (its call is a
    // harmless no-op that re-arms), so a busy tunnel sets a timer a second or so, not a packet.
    if (at === null || this.closing || (this.endpointTimer !== null && this.endpointTimerAt <= at)) return;
    if (this.endpointTimer !== null) clearTimeout(this.endpointTimer);
    this.endpointTimerAt = at;
    this.endpointTimer = setTimeout(this.onEndpointTimer, Math.max(0, at - this.loop.clock()));
    this.endpointTimer.unref();
  }

  private readonly onEndpointTimer = (): void => {
    this.endpointTimer = null;
    this.endpoint.handleTimeout(this.loop.clock(), this.wallClock());
    this.afterEndpoint();
    this.loop.wake();
  };

  private endpointEvent(e: EndpointEvent<CoreSession>): void {
    switch (e.type) {
      case 'checkStarted':
        this.log.warn({ sessionId: e.session.id, silentMs: Math.round(e.silentMs), checkSessionId: e.check.id }, 'peer silent; checking whether it restarted');
        this.loop.add(e.check, this);
        break;
      case 'checkEnded':
        this.log.info({ checkSessionId: e.check.id, reason: e.reason }, 'restart check ended');
        break;
      case 'replaced':
        this.log.warn({ sessionId: e.session.id, oldSessionId: e.old?.id ?? null, silentMs: Math.round(e.silentMs) }, 'peer restarted: session replaced');
        this.pathsSeenUp = new Set();
        this.connectedAt = e.connectedAt;
        this.handshakes++;
        this.failures = 0;
        this.log.info({ sessionId: e.session.id, paths: this.peers.map(formatPeer) }, 'session up');
        this.handler?.onSessionEvent(e.session, { type: 'connected' });
        this.loop.wake();
        break;
      case 'promoted':
        this.connectedAt = 0;
        this.dialedAt = e.dialedAt;
        this.pathsSeenUp = new Set();
        break;
    }
  }

  private peerName(pathId: number): string {
    const p = this.peers[pathId];
    return p === undefined ? `#${pathId}` : formatPeer(p);
  }

  /** Feeds a datagram from path `pathId` to the session it belongs to. */
  private deliver(pathId: PathId, bytes: Uint8Array): void {
    this.endpoint.handleDatagram(this.loop.clock(), pathId, bytes);
    this.afterEndpoint();
    this.loop.wake();
  }

  /**
   * Looks for what a self-hoster should hear about: a handshake nobody answers, and a path of a
   * live session that never answered. Each goes to the diagnostics once it has lasted
   * {@link SILENT_PATH_MS}, saying what to check.
   */
  private readonly diagnose = (): void => {
    const session = this.session;
    if (session === null || this.closing) return;
    const now = this.loop.clock();
    if (!session.isConnected) {
      if (now - this.dialedAt >= SILENT_PATH_MS) this.reportNoAnswer();
      return;
    }
    if (this.connectedAt === 0 || now - this.connectedAt < SILENT_PATH_MS) return;
    for (const pathId of this.pathIds) {
      if (this.pathsSeenUp.has(pathId)) continue;
      const peer = this.peers[pathId];
      const name = this.peerName(pathId);
      const refused = this.endpoint.wasRefused(pathId);
      const message =
        peer.webrtc === true
          ? `path ${pathId} (${name}): no answer for ${SILENT_PATH_MS / 1000} s: is UDP ${peer.port} open on the other relay, and can ICE reach it (--stun)?`
          : refused
            ? `path ${pathId} (${name}): UDP ${peer.port} refused (ICMP port unreachable): is the other relay listening on that port (--udp-listen)?`
            : `path ${pathId} (${name}): no answer for ${SILENT_PATH_MS / 1000} s: is UDP ${peer.port} open in the other relay's firewall, and does ${peer.host} reach it (IPv4 or IPv6)?`;
      this.diagnostics.report('path-silent', `path ${pathId}`, message, { pathId, peer: name });
    }
  };

  /** The handshake has gone unanswered on every path: say what could be wrong, most telling first. */
  private reportNoAnswer(): void {
    const udp = this.pathIds.filter((id) => this.sockets[id] !== undefined);
    const names = this.pathIds.map((id) => this.peerName(id)).join(', ');
    const ports = [...new Set(this.pathIds.map((id) => this.peers[id].port))].join(', ');
    const refused = udp.length > 0 && udp.every((id) => this.endpoint.wasRefused(id));
    const message = refused
      ? `no relay at ${names}: UDP refused (ICMP port unreachable): is the other relay running and listening there?`
      : `no answer to the handshake from ${names} for ${SILENT_PATH_MS / 1000} s: is the other relay running, UDP ${ports} open in its firewall, and the same key on both relays? (a relay with another key does not answer; its log says so)`;
    this.diagnostics.report('peer-unreachable', 'tunnel', message, { peers: names });
  }

  /** The session the relay used closed: a restart check under way took its place, or the dial is over. */
  private onClosed(session: CoreSession, reason: string, byPeer: boolean): void {
    if (this.session !== null && !this.closing) {
      this.log.warn({ sessionId: session.id, reason, byPeer, upForMs: Math.round(this.loop.clock() - this.connectedAt) }, 'session down');
      return;
    }
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
    this.diagnostics.clearAll('path-silent');
    void this.closeSockets();
    if (!this.closing) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = backoffDelay(this.backoff, this.failures);
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
    const generation = ++this.generation;
    const firstTries = this.startWebRtcPaths((pathId, bytes) => {
      // Packets of an earlier dial's channels are not this dial's business.
      if (this.generation === generation && this.session !== null) this.deliver(pathId, bytes);
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
    const session = this.endpoint.dial(this.loop.clock(), this.wallClock(), pathIds, udpPathIds);
    this.dialedAt = this.loop.clock();
    this.pathsSeenUp = new Set();
    this.pathIds = pathIds;
    this.sockets = sockets;
    sockets.forEach((s, pathId) => {
      s.receive(
        (msg) => {
          // Late datagrams on the sockets of an earlier dial are not this dial's business.
          if (this.generation === generation && this.session !== null) this.deliver(pathId, msg);
        },
        (code) => {
          if (code === 'ECONNREFUSED' && this.generation === generation) this.endpoint.pathRefused(this.loop.clock(), pathId);
        },
      );
    });
    this.log.info({ sessionId: session.id, peers: this.peers.map(formatPeer), batchedIo: sockets.every((s) => s.batched) }, 'dialing');
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
