/**
 * Listener side of the tunnel over UDP: one socket per `--udp-listen` address, any number of
 * sessions behind them (several entry relays, or one that restarted). The core's `Listener`
 * authenticates each datagram, told its source and the local socket it came in on; the core
 * decides where each path's packets go (`pathAddress`: a new address only after it answered a
 * PATH_CHALLENGE, src/session/pathValidation.ts), so a peer behind NAT that changes its port
 * keeps working and a stranger replaying its packets does not draw them. Packets of other path
 * kinds (WebRTC data channels) come in through {@link UdpListener.receive} with their own
 * {@link PathSink}.
 */
import type { Logger } from 'pino';
import type { PathId, SessionEvent, Transmit } from '../session/api.ts';
import { formatHostPort, type HostPort } from './address.ts';
import type { CoreListener, CoreSession } from './core.ts';
import { Diagnostics } from './diagnosis.ts';
import type { PathSink } from './pathSink.ts';
import type { SessionLoop, SessionSink } from './sessionLoop.ts';
import type { SessionHandler, SessionView, Transport, TransportCounters } from './transport.ts';
import { bindEach, type DatagramSocket } from './datagramSocket.ts';
import type { DatagramSource } from './udpBatch.ts';
import { UdpSocket } from './udpSocket.ts';

/** At most one log line about refused handshakes per this long. */
const REFUSAL_LOG_EVERY_MS = 10_000;
/**
 * Handshakes under another key or clock go to the diagnostics at most this often: in a flood of
 * forgeries each would otherwise cost a report, and one a second keeps the problem current.
 */
const BAD_HANDSHAKE_REPORT_MS = 1000;

export interface UdpListenerOptions {
  /** Local addresses to bind, one socket each (port 0: any free port). */
  listen: HostPort[];
  listener: CoreListener;
  loop: SessionLoop;
  log: Logger;
  /** Wall clock for the handshake's replay bound; Date.now by default. */
  wallClock?: () => number;
  /** Where problems a self-hoster should hear about go (a peer with another key); one of its own by default. */
  diagnostics?: Diagnostics;
  /**
   * Opens the socket of `listen[index]`; a real UDP socket by default. A worker thread passes its
   * share of the sockets its parent reads (src/io/shardChannel.ts).
   */
  bind?: (addr: HostPort, index: number) => Promise<DatagramSocket>;
}

/** The driver-side state of one accepted session. */
class SessionRoutes implements SessionSink {
  /** Paths of other kinds (WebRTC data channels); UDP paths go where the core says. */
  readonly sinks: Array<PathSink | undefined> = [];
  connectedAt = 0;
  constructor(
    private readonly owner: UdpListener,
    readonly session: CoreSession,
    /** Where the handshake came from, for the logs. */
    readonly from: string,
  ) {}

  transmit(t: Transmit): void {
    const sink = this.sinks[t.pathId];
    if (sink !== undefined) {
      sink.send(t.bytes);
      return;
    }
    // A path the peer has not reached us on yet has nowhere to go; the core retries elsewhere.
    const to = this.session.pathAddress(t.pathId);
    if (to !== null) this.owner.socketAt(this.session.pathLocal(t.pathId))?.sendTo(t.bytes, to.port, to.address);
  }

  event(session: CoreSession, e: SessionEvent): void {
    this.owner.onEvent(this, session, e);
  }

  /** The path now sends on `sink` (a WebRTC data channel). */
  rememberSink(pathId: PathId, sink: PathSink): void {
    this.sinks[pathId] = sink;
  }

  describe(pathId: PathId): string {
    const sink = this.sinks[pathId];
    if (sink !== undefined) return sink.peer;
    const a = this.session.pathAddress(pathId);
    return a === null ? `#${pathId}` : formatHostPort({ host: a.address, port: a.port });
  }
}

/** Accepts sessions on real UDP sockets; see {@link Transport}. */
export class UdpListener implements Transport {
  private readonly opts: UdpListenerOptions;
  private readonly wallClock: () => number;
  private handler: SessionHandler | null = null;
  private sockets: DatagramSocket[] = [];
  private readonly sessions = new Map<CoreSession, SessionRoutes>();
  /** Connected sessions, oldest first. */
  private connected: CoreSession[] = [];
  private handshakes = 0;
  /** Listener refusal counters as of the last log line about them, and when it went out. */
  private loggedRefusals = { sessions: 0, rate: 0, at: -Infinity };
  /** Listener counters of handshakes under another key or clock, as last looked at, and when they were last reported. */
  private readonly seenBadHandshakes = { mac: 0, stale: 0, reportedAt: -Infinity };
  readonly diagnostics: Diagnostics;

  constructor(opts: UdpListenerOptions) {
    this.opts = opts;
    this.wallClock = opts.wallClock ?? Date.now;
    this.diagnostics = opts.diagnostics ?? new Diagnostics(opts.log);
  }

  /** The bound addresses, in `listen` order (useful when a port was 0). */
  get addresses(): HostPort[] {
    return this.sockets.map((s) => s.local);
  }

  get activeSession(): CoreSession | null {
    for (let i = this.connected.length - 1; i >= 0; i--) {
      const s = this.connected[i];
      if (s.isConnected && !s.isClosed) return s;
    }
    return null;
  }

  /** Number of sessions currently accepted. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  wake(): void {
    this.opts.loop.wake();
  }

  /** The socket a session's path sends on, by its index in `listen`. */
  socketAt(local: number): DatagramSocket | undefined {
    return this.sockets[local];
  }

  /** Binds every address; rejects with a `ListenError` (and binds none) if any fails. */
  async start(handler: SessionHandler): Promise<void> {
    this.handler = handler;
    this.sockets = await bindEach<DatagramSocket>(this.opts.listen, this.opts.bind ?? ((a) => UdpSocket.bind(a)));
    this.sockets.forEach((socket, local) => {
      socket.receive((msg, from) => this.onMessage(socket, local, msg, from));
    });
    this.opts.log.info({ udp: this.addresses.map(formatHostPort), batchedIo: this.sockets.every((s) => s.batched) }, 'listening for peers');
  }

  sessionViews(): SessionView[] {
    const now = this.opts.loop.clock();
    return [...this.sessions.values()].map((r) => ({
      session: r.session,
      connectedForMs: r.connectedAt > 0 ? now - r.connectedAt : null,
      pathPeer: (pathId: number) => r.describe(pathId),
    }));
  }

  counters(): TransportCounters {
    const stats = this.opts.listener.stats;
    return { handshakes: this.handshakes, listener: stats === undefined ? null : { ...stats } };
  }

  async close(reason: string): Promise<void> {
    const { loop } = this.opts;
    const now = loop.clock();
    for (const s of this.sessions.keys()) if (!s.isClosed) s.close(now, reason);
    loop.flush();
    for (const s of this.sessions.keys()) this.drop(s);
    const sockets = this.sockets;
    this.sockets = [];
    await Promise.all(sockets.map((s) => s.close()));
  }

  /** Called by a session's routes for each of its events. */
  onEvent(routes: SessionRoutes, session: CoreSession, e: SessionEvent): void {
    const { log } = this.opts;
    switch (e.type) {
      case 'connected':
        routes.connectedAt = this.opts.loop.clock();
        this.handshakes++;
        this.connected.push(session);
        log.info({ sessionId: session.id, tunnel: session.tunnelId ?? null, from: routes.from }, 'session up');
        break;
      case 'pathUp':
        log.info({ sessionId: session.id, pathId: e.pathId, from: routes.describe(e.pathId) }, 'path up');
        break;
      case 'pathMoved':
        log.info({ sessionId: session.id, pathId: e.pathId, to: routes.describe(e.pathId) }, 'path moved: the peer answered from a new address');
        break;
      case 'pathDown':
        log.warn({ sessionId: session.id, pathId: e.pathId, from: routes.describe(e.pathId), reason: e.reason }, 'path down');
        break;
      case 'closed':
        log.info(
          {
            sessionId: session.id,
            reason: e.reason,
            byPeer: e.byPeer,
            upForMs: routes.connectedAt > 0 ? Math.round(this.opts.loop.clock() - routes.connectedAt) : 0,
          },
          'session down',
        );
        this.drop(session);
        break;
      default:
        break;
    }
    this.handler?.onSessionEvent(session, e);
  }

  /**
   * Feeds one packet that arrived on a path of another kind (a WebRTC data channel): it is
   * authenticated like a UDP datagram, and the handshake reply or the session's later packets on
   * that path go to `from`.
   */
  receive(bytes: Uint8Array, from: PathSink): void {
    const { listener, loop } = this.opts;
    const r = listener.handleDatagram(loop.clock(), this.wallClock(), bytes);
    if (r.kind === 'drop') {
      this.noteDrop(from.peer, -1);
      return;
    }
    const routes = this.sessions.get(r.session) ?? this.track(r.session, from.peer);
    if (r.kind === 'accepted') from.send(r.reply);
    else routes.rememberSink(r.pathId, from);
    loop.wake();
  }

  /**
   * After a dropped datagram from `host` and `port` (-1: `host` is a whole address already):
   * tells of a handshake under another key or too far off this relay's clock, the two mistakes
   * only this side can see (the dialer just hears nothing), and of refusals at a limit.
   * Strangers' datagrams of any other kind are only counted. Called for every drop, so it
   * allocates nothing unless it reports.
   */
  private noteDrop(host: string, port: number): void {
    const stats = this.opts.listener.stats;
    if (stats === undefined) return;
    const seen = this.seenBadHandshakes;
    const badKey = stats.handshakeAuthFailures > seen.mac;
    const badClock = stats.staleHandshakes > seen.stale;
    seen.mac = stats.handshakeAuthFailures;
    seen.stale = stats.staleHandshakes;
    const now = this.opts.loop.clock();
    if ((badKey || badClock) && now - seen.reportedAt >= BAD_HANDSHAKE_REPORT_MS) {
      seen.reportedAt = now;
      const from = port < 0 ? host : formatHostPort({ host, port });
      if (badKey) {
        this.diagnostics.report('wrong-key', host, `handshake from ${from} failed authentication: the peers hold different keys? (copy the same key file to both relays)`, { from });
      }
      if (badClock) {
        this.diagnostics.report('clock-skew', host, `handshake from ${from} is over a minute off this relay's clock: set both clocks right (NTP)`, { from });
      }
    }
    this.noteRefusals(host);
  }

  /**
   * Logs handshakes refused at a limit (authentic ones: a peer holding the key), at most one line
   * per 10 s with the counts since the previous line, so a storm of them cannot flood the log.
   * Drops of strangers' datagrams are never logged: they are only counted.
   */
  private noteRefusals(host: string): void {
    const stats = this.opts.listener.stats;
    const last = this.loggedRefusals;
    if (stats === undefined || (stats.sessionsRefused === last.sessions && stats.handshakesRateLimited === last.rate)) return;
    const now = this.opts.loop.clock();
    if (now - last.at < REFUSAL_LOG_EVERY_MS) return;
    const sessions = stats.sessionsRefused - last.sessions;
    const rate = stats.handshakesRateLimited - last.rate;
    const why = sessions > 0 ? 'the relay holds --max-sessions sessions already' : 'over --handshake-rate';
    this.opts.log.warn({ from: host, sessionsRefused: sessions, handshakesRateLimited: rate, sessions: this.sessions.size }, `handshake refused: ${why}`);
    this.loggedRefusals = { sessions: stats.sessionsRefused, rate: stats.handshakesRateLimited, at: now };
  }

  private onMessage(socket: DatagramSocket, local: number, msg: Uint8Array, from: DatagramSource): void {
    const { listener, loop } = this.opts;
    const r = listener.handleDatagram(loop.clock(), this.wallClock(), msg, from, local);
    if (r.kind === 'drop') {
      this.noteDrop(from.address, from.port);
      return;
    }
    if (!this.sessions.has(r.session)) this.track(r.session, formatHostPort({ host: from.address, port: from.port }));
    // A handshake is answered to where it came from; the session's paths are learnt from the
    // dialer's first data packets on each, which arrive as 'routed'.
    if (r.kind === 'accepted') socket.sendTo(r.reply, from.port, from.address);
    loop.wake();
  }

  /** Starts driving a session the listener just accepted; `from` is where its handshake came from. */
  private track(session: CoreSession, from: string): SessionRoutes {
    const routes = new SessionRoutes(this, session, from);
    this.sessions.set(session, routes);
    this.opts.loop.add(session, routes);
    return routes;
  }

  private drop(session: CoreSession): void {
    if (!this.sessions.delete(session)) return;
    this.opts.loop.remove(session);
    this.opts.listener.forget(session);
    this.connected = this.connected.filter((s) => s !== session);
  }
}
