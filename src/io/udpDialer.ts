/**
 * Dialer side of the tunnel over UDP: one connected socket per `--peer` address (path id = its
 * index), one session at a time, re-dialed with backoff whenever it closes, so a restarted relay
 * pair finds each other again without help. A `webrtc://` peer is a WebRTC data channel instead
 * of a socket (src/io/webrtcPath.ts); the session cannot tell the two apart.
 *
 * A peer that restarted has forgotten the session, and drops its packets without a word, so the
 * session would only end at its idle timeout. To find out sooner, once the session has heard
 * nothing for `restartCheck.silenceMs` (the peers ping each other every second, so this never
 * happens on a live tunnel) the dialer handshakes a second session over the same paths. If the
 * peer answers it, the peer is reachable; if the old session then still hears nothing for
 * `graceMs` plus a few round trips (time for its path probes, sent every 500 ms, to be
 * answered), the peer has lost it: the old session is closed (its streams reset) and the new one
 * takes its place. If the old session hears from the peer first (a path that was only dark),
 * the second session is dropped and nothing changes. When every path's socket was refused by the
 * peer's host (ICMP port unreachable: no process on that port) since the old session last heard
 * anything, the process it knew is gone for sure, and the new session takes over without the wait.
 */
import type { Logger } from 'pino';
import type { PathId, SessionEvent, Transmit } from '../session/api.ts';
import type { Millis } from '../base/time.ts';
import { isHandshakeResponse } from '../wire/handshake.ts';
import { peekSessionId } from '../wire/packet.ts';
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

/** When the dialer checks whether its peer restarted; see the module comment. */
export interface RestartCheck {
  /** Silence (no authenticated packet) after which a second handshake is tried. */
  silenceMs: number;
  /** After that handshake succeeds, how long the old session may take to hear from the peer, on top of 3 minimum RTTs. */
  graceMs: number;
}

/**
 * 1.5 s: well above the longest gap between packets of a live tunnel (keep-alive pings every
 * second each way). 600 ms: the old session probes its silent paths every 500 ms.
 */
export const DEFAULT_RESTART_CHECK: RestartCheck = { silenceMs: 1500, graceMs: 600 };

/** Handshake retransmission of the restart check: brisk, since the peer may come back any moment. */
const CHECK_HANDSHAKE_RETRY_MS = 150;
/** How often the dialer looks at the session's silence. */
const WATCH_INTERVAL_MS = 100;
/** Assumed RTT when the session reports none. */
const DEFAULT_RTT_MS = 200;
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
  /** When to check whether the peer restarted; {@link DEFAULT_RESTART_CHECK} by default. */
  restartCheck?: RestartCheck;
  /** Where problems a self-hoster should hear about go (no answer, a silent path); one of its own by default. */
  diagnostics?: Diagnostics;
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
  private readonly restartCheck: RestartCheck;
  /** Path ids of the current dial: its sockets (and WebRTC paths) serve every session of it. */
  private pathIds: PathId[] = [];
  /** Bumped by every dial; message handlers of an earlier dial drop what they get. */
  private generation = 0;
  /** When the current session last authenticated a packet. */
  private lastHeardAt: Millis = 0;
  /** Per UDP path of the current dial: when the peer's host last refused a datagram (ICMP port unreachable). */
  private refusedAt: Millis[] = [];
  /** The restart check's session, while one runs. */
  private check: CoreSession | null = null;
  private checkStartedAt: Millis = 0;
  private checkConnectedAt: Millis = 0;
  /** Sessions replaced after a peer restart: their events still reach the handler until they close. */
  private readonly retired = new Set<CoreSession>();
  /** Restart checks no longer needed, sending their close; the handler never saw them. */
  private readonly dropped = new Set<CoreSession>();
  private watch: NodeJS.Timeout | null = null;
  private diagnoseTimer: NodeJS.Timeout | null = null;
  /** When the current session was dialed. */
  private dialedAt: Millis = 0;
  /** Paths of the current session that have been up at least once. */
  private pathsSeenUp = new Set<PathId>();
  readonly diagnostics: Diagnostics;

  constructor(opts: UdpDialerOptions) {
    this.peers = opts.peers;
    this.dial = opts.dial;
    this.loop = opts.loop;
    this.log = opts.log;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.wallClock = opts.wallClock ?? Date.now;
    this.webrtc = opts.webrtc;
    this.restartCheck = opts.restartCheck ?? DEFAULT_RESTART_CHECK;
    this.diagnostics = opts.diagnostics ?? new Diagnostics(opts.log);
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
    this.stopWatch();
    if (this.diagnoseTimer !== null) clearInterval(this.diagnoseTimer);
    this.diagnoseTimer = null;
    const sessions = [this.session, this.check, ...this.retired, ...this.dropped].filter((s): s is CoreSession => s !== null);
    const now = this.loop.clock();
    for (const s of sessions) if (!s.isClosed) s.close(now, reason);
    this.loop.flush();
    for (const s of sessions) this.loop.remove(s);
    this.session = null;
    this.check = null;
    this.retired.clear();
    this.dropped.clear();
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
    if (session === this.check) {
      this.checkEvent(session, e);
      return;
    }
    if (this.dropped.has(session)) {
      if (e.type === 'closed') {
        this.dropped.delete(session);
        this.loop.remove(session);
      }
      return;
    }
    if (this.retired.has(session)) {
      // A replaced session's streams still need their resets delivered.
      if (e.type === 'closed') {
        this.retired.delete(session);
        this.loop.remove(session);
      }
      this.handler?.onSessionEvent(session, e);
      return;
    }
    if (session !== this.session) return;
    switch (e.type) {
      case 'connected':
        this.failures = 0;
        this.handshakes++;
        this.connectedAt = this.loop.clock();
        this.lastHeardAt = this.connectedAt;
        this.startWatch();
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
    this.handler?.onSessionEvent(session, e);
  }

  private peerName(pathId: number): string {
    const p = this.peers[pathId];
    return p === undefined ? `#${pathId}` : formatPeer(p);
  }

  /** Feeds a datagram from path `pathId` to the session it belongs to. */
  private deliver(pathId: PathId, bytes: Uint8Array): void {
    const now = this.loop.clock();
    const check = this.check;
    if (check !== null && (isHandshakeResponse(bytes) || peekSessionId(bytes) === check.id)) {
      check.handleDatagram(now, pathId, bytes);
    } else if (this.session !== null && this.session.handleDatagram(now, pathId, bytes)) {
      this.lastHeardAt = now;
      // The peer still knows the old session: it did not restart, a path was only dark.
      if (check !== null) this.endCheck(now, 'the peer answered the current session');
    }
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
      const refused = this.refusedAt[pathId] !== undefined;
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
    const refused = udp.length > 0 && udp.every((id) => this.refusedAt[id] !== undefined);
    const message = refused
      ? `no relay at ${names}: UDP refused (ICMP port unreachable): is the other relay running and listening there?`
      : `no answer to the handshake from ${names} for ${SILENT_PATH_MS / 1000} s: is the other relay running, UDP ${ports} open in its firewall, and the same key on both relays? (a relay with another key does not answer; its log says so)`;
    this.diagnostics.report('peer-unreachable', 'tunnel', message, { peers: names });
  }

  private startWatch(): void {
    if (this.watch !== null) return;
    this.watch = setInterval(this.onWatch, WATCH_INTERVAL_MS);
    this.watch.unref();
  }

  private stopWatch(): void {
    if (this.watch !== null) clearInterval(this.watch);
    this.watch = null;
  }

  private readonly onWatch = (): void => {
    const session = this.session;
    if (session === null || !session.isConnected || this.closing) return;
    const now = this.loop.clock();
    const silentMs = now - this.lastHeardAt;
    if (this.check === null) {
      if (silentMs >= this.restartCheck.silenceMs) this.startCheck(session, now, silentMs);
    } else if (this.checkConnectedAt > 0 && (this.peerProcessGone() || now - this.checkConnectedAt >= this.graceMs(session))) {
      this.replace(session, this.check, now);
    }
  };

  /** Every path is a UDP socket that the peer's host refused since the session last heard from the peer. */
  private peerProcessGone(): boolean {
    if (this.webrtcPaths.some((p) => p !== undefined)) return false;
    const udp = this.pathIds.filter((id) => this.sockets[id] !== undefined);
    return udp.length > 0 && udp.every((id) => (this.refusedAt[id] ?? -Infinity) > this.lastHeardAt);
  }

  /**
   * How long the old session may stay silent once the peer answered the restart check: its next
   * path probe and the answer's round trip. The minimum RTT, not the smoothed one: a transfer's
   * queues inflate the latter, and they have drained by now.
   */
  private graceMs(session: CoreSession): number {
    const rtts = (session.stats?.().paths ?? []).map((p) => p.minRttMs).filter((r) => Number.isFinite(r));
    return this.restartCheck.graceMs + 3 * (rtts.length === 0 ? DEFAULT_RTT_MS : Math.max(...rtts));
  }

  private startCheck(session: CoreSession, now: Millis, silentMs: number): void {
    const check = this.dial(now, this.wallClock(), this.pathIds, { handshakeRetryMs: CHECK_HANDSHAKE_RETRY_MS });
    this.check = check;
    this.checkStartedAt = now;
    this.checkConnectedAt = 0;
    this.log.warn({ sessionId: session.id, silentMs: Math.round(silentMs), checkSessionId: check.id }, 'peer silent; checking whether it restarted');
    this.loop.add(check, this);
  }

  /** Events of the restart check's session, which the handler does not see until it takes over. */
  private checkEvent(check: CoreSession, e: SessionEvent): void {
    const now = this.loop.clock();
    if (e.type === 'connected') {
      this.checkConnectedAt = now;
      this.log.info({ checkSessionId: check.id, afterMs: Math.round(now - this.checkStartedAt) }, 'peer answered a new handshake');
      // The current session may have died meanwhile, or its peer is gone: nothing to wait for.
      if (this.session === null || !this.session.isConnected || this.peerProcessGone()) this.replace(this.session, check, now);
    } else if (e.type === 'closed') {
      this.loop.remove(check);
      this.check = null;
      this.log.info({ checkSessionId: check.id, reason: e.reason }, 'restart check ended');
    }
  }

  /** Drops the restart check's session (the peer is told, if it answered). */
  private endCheck(now: Millis, reason: string): void {
    const check = this.check;
    if (check === null) return;
    this.check = null;
    this.log.info({ checkSessionId: check.id, reason }, 'restart check ended');
    check.close(now, reason);
    // Its close goes out with the next flush; the loop drops it once it is closed.
    this.dropped.add(check);
  }

  /**
   * The peer restarted: `check` becomes the session. The old one is closed, so its streams are
   * reset on this side at once (the peer has forgotten them already).
   */
  private replace(old: CoreSession | null, check: CoreSession, now: Millis): void {
    this.log.warn({ sessionId: check.id, oldSessionId: old?.id ?? null, silentMs: Math.round(now - this.lastHeardAt) }, 'peer restarted: session replaced');
    this.check = null;
    this.session = check;
    this.pathsSeenUp = new Set();
    this.connectedAt = this.checkConnectedAt;
    this.lastHeardAt = now;
    this.handshakes++;
    this.failures = 0;
    if (old !== null && !old.isClosed) {
      this.retired.add(old);
      old.close(now, 'the peer restarted');
    }
    this.log.info({ sessionId: check.id, paths: this.peers.map(formatPeer) }, 'session up');
    this.handler?.onSessionEvent(check, { type: 'connected' });
    this.loop.wake();
  }

  private onClosed(session: CoreSession, reason: string, byPeer: boolean): void {
    const check = this.check;
    if (check !== null && !this.closing) {
      // A restart check is under way: it becomes the session (a redial already in progress).
      this.log.warn({ sessionId: session.id, reason, byPeer, upForMs: Math.round(this.loop.clock() - this.connectedAt) }, 'session down');
      this.loop.remove(session);
      if (this.checkConnectedAt > 0) {
        this.replace(null, check, this.loop.clock());
      } else {
        this.check = null;
        this.session = check;
        this.connectedAt = 0;
        this.dialedAt = this.checkStartedAt;
        this.pathsSeenUp = new Set();
      }
      return;
    }
    this.stopWatch();
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
    const session = this.dial(this.loop.clock(), this.wallClock(), pathIds);
    this.session = session;
    this.dialedAt = this.loop.clock();
    this.pathsSeenUp = new Set();
    this.pathIds = pathIds;
    this.sockets = sockets;
    this.refusedAt = [];
    sockets.forEach((s, pathId) => {
      s.socket.on('message', (msg: Buffer) => {
        // Late datagrams on the sockets of an earlier dial are not this dial's business.
        if (this.generation === generation && this.session !== null) this.deliver(pathId, msg);
      });
      s.socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' && this.generation === generation) this.refusedAt[pathId] = this.loop.clock();
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
