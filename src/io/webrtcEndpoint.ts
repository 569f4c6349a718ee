/**
 * The listening side of WebRTC paths (`--webrtc-listen H:P`): an HTTP signalling endpoint on TCP
 * H:P where entry relays POST authenticated offers (src/io/webrtcSignal.ts), and the peer
 * connections those offers lead to. ICE runs on UDP H:P: libjuice's UDP mux puts every peer
 * connection on that one port, so a firewall needs one rule per protocol.
 *
 * Each connection carries one unordered, never-retransmitted data channel. Its messages are
 * bering packets: they go to the listening transport with the channel as their {@link PathSink},
 * exactly as UDP datagrams go with their source address, so a data channel is just one more path
 * of whichever session its packets authenticate for (the handshake too, when it is the only one).
 *
 * Strangers learn nothing: every request that is not an authentic, fresh offer, on any method or
 * URL, gets the same bare 404 and costs one HMAC at most; no peer connection exists before an
 * offer has passed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { formatHostPort, type HostPort } from './address.ts';
import { HTTP_SERVER_OPTIONS, limitHttpServer } from './httpLimits.ts';
import type { PathSink } from './pathSink.ts';
import { describeSocketError, ListenError, resolve, UdpSocket } from './udpSocket.ts';
import { CHANNEL_LABEL, ChannelSink, loadNative, messageBytes, RtcPeer } from './webrtcNative.ts';
import { AUTH_HEADER, MAX_BODY_BYTES, NonceCache, openOffer, sealAnswer, SIGNAL_PATH, signallingKey } from './webrtcSignal.ts';

export interface WebRtcEndpointOptions {
  /** Signalling on TCP, ICE on UDP, both on this address and port (port 0: a free one). */
  listen: HostPort;
  psk: Uint8Array;
  /** `stun:host:port` / `turn:user:pass@host:port` URLs for server-reflexive candidates; none by default. */
  stunServers?: readonly string[];
  /** Receives every packet of every data channel, with the channel to answer on. */
  receive(bytes: Uint8Array, from: PathSink): void;
  log: Logger;
  /** Wall clock for the offers' freshness check; Date.now by default. */
  wallClock?: () => number;
  /** Peer connections at most at once (default 64); authentic offers beyond that get 503. */
  maxPeers?: number;
}

/** How long the answer waits for our own candidates (host ones are instant; STUN takes an RTT). */
const GATHER_TIMEOUT_MS = 3000;
/** A connection whose channel has not opened by then is closed; the dialer tries again. */
const OPEN_TIMEOUT_MS = 20_000;
/** How long closing waits for queued packets (a session's close) to leave. */
const DRAIN_GRACE_MS = 200;
/** Tries at a port number free for both TCP and UDP when the port was given as 0. */
const ANY_PORT_TRIES = 5;

/** One peer connection and, once it opened, its channel. */
interface Peer {
  rtc: RtcPeer;
  sink: ChannelSink | null;
  openTimer: NodeJS.Timeout;
}

/** Serves signalling and holds the answered peer connections; see the module comment. */
export class WebRtcEndpoint {
  private readonly key: Buffer;
  private readonly seen = new NonceCache();
  private readonly peers = new Set<Peer>();
  private readonly wallClock: () => number;
  private server: http.Server | null = null;
  private bound: HostPort | null = null;
  private bindAddress: string | undefined;
  private named = 0;
  /** Requests refused with the bare 404 (wrong key, replays, scanners). */
  refused = 0;

  constructor(private readonly opts: WebRtcEndpointOptions) {
    this.key = signallingKey(opts.psk);
    this.wallClock = opts.wallClock ?? Date.now;
  }

  /** The bound address (useful when the port was 0). */
  get address(): HostPort {
    if (this.bound === null) throw new Error('WebRTC endpoint not started');
    return this.bound;
  }

  /** Peer connections that exist now, open or still connecting. */
  get peerCount(): number {
    return this.peers.size;
  }

  /**
   * Loads node-datachannel, then binds TCP and checks UDP on the same port. Rejects with a
   * `WebRtcUnavailableError` or a `ListenError` (and holds nothing).
   */
  async start(): Promise<void> {
    await loadNative();
    const { listen } = this.opts;
    let ip: string;
    try {
      ip = (await resolve(listen.host)).address;
    } catch (err) {
      const { code, detail } = describeSocketError(err);
      throw new ListenError('tcp', listen, code, detail);
    }
    for (let tries = 1; ; tries++) {
      const server = await this.listenTcp(ip);
      const port = (server.address() as AddressInfo).port;
      try {
        // libjuice would only log a busy port and gather nothing; binding it first gives the user
        // a clear error instead. The check and libjuice's bind are not atomic: good enough here.
        await (await UdpSocket.bind({ host: ip, port })).close(0);
      } catch (err) {
        await new Promise<void>((ok) => server.close(() => ok()));
        if (listen.port === 0 && tries < ANY_PORT_TRIES) continue;
        throw err;
      }
      this.server = server;
      this.bound = { host: listen.host, port };
      break;
    }
    this.bindAddress = ip === '0.0.0.0' || ip === '::' ? undefined : ip;
    this.opts.log.info({ webrtc: formatHostPort(this.bound) }, 'listening for WebRTC peers');
  }

  /** Stops signalling, lets queued packets leave and closes every peer connection. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server !== null) {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
    await Promise.all([...this.peers].map((p) => p.sink?.drain(DRAIN_GRACE_MS)));
    for (const p of [...this.peers]) this.drop(p, 'relay shutting down');
  }

  private async listenTcp(ip: string): Promise<http.Server> {
    const server = http.createServer(HTTP_SERVER_OPTIONS, (req, res) => this.onRequest(req, res));
    limitHttpServer(server);
    await new Promise<void>((ok, fail) => {
      server.once('error', (err) => {
        const { code, detail } = describeSocketError(err);
        fail(new ListenError('tcp', this.opts.listen, code, detail));
      });
      server.listen(this.opts.listen.port, ip, () => ok());
    });
    // Errors of single connections (resets, timeouts) are theirs alone.
    server.on('clientError', (_err, socket) => socket.destroy());
    return server;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.on('error', () => {});
    if (req.method !== 'POST' || req.url !== SIGNAL_PATH) return this.refuse(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (!res.headersSent) this.refuse(req, res);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      const auth = req.headers[AUTH_HEADER];
      const offer = openOffer(this.key, Buffer.concat(chunks), typeof auth === 'string' ? auth : undefined, this.wallClock(), this.seen);
      if (offer === null) return this.refuse(req, res);
      void this.answer(offer.sdp, req.socket.remoteAddress ?? '?').then(
        (sdp) => {
          const sealed = sealAnswer(this.key, offer.nonce, sdp);
          reply(res, 200, { 'content-type': 'application/json', [AUTH_HEADER]: sealed.auth }, sealed.body);
        },
        (err: unknown) => {
          this.opts.log.warn({ from: req.socket.remoteAddress, err: err instanceof Error ? err.message : String(err) }, 'cannot answer WebRTC offer');
          reply(res, 503);
        },
      );
    });
  }

  /** The one answer strangers get: 404, no body, no date; the connection is closed after it. */
  private refuse(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.refused++;
    this.opts.log.debug({ from: req.socket.remoteAddress, method: req.method, url: req.url }, 'signalling request refused');
    reply(res, 404);
  }

  /** Creates the peer connection for an authentic offer; resolves with our description. */
  private async answer(offerSdp: string, from: string): Promise<string> {
    const native = await loadNative();
    const maxPeers = this.opts.maxPeers ?? 64;
    if (this.peers.size >= maxPeers) throw new Error(`${maxPeers} WebRTC peers already`);
    // Checked after the last await: a connection made once close() ran would never be closed.
    if (this.server === null) throw new Error('shutting down');
    const rtc = new RtcPeer(native, `bering-${++this.named}`, {
      iceServers: [...(this.opts.stunServers ?? [])],
      bindAddress: this.bindAddress,
      enableIceUdpMux: true,
      portRangeBegin: this.address.port,
      portRangeEnd: this.address.port,
    });
    const peer: Peer = { rtc, sink: null, openTimer: setTimeout(() => this.drop(peer, 'no data channel in time'), OPEN_TIMEOUT_MS) };
    this.peers.add(peer);
    rtc.pc.onStateChange((state) => {
      if (state === 'failed' || state === 'closed') this.drop(peer, `connection ${state}`);
    });
    rtc.pc.onDataChannel((dc) => {
      if (peer.sink !== null || dc.getLabel() !== CHANNEL_LABEL) {
        dc.close();
        return;
      }
      clearTimeout(peer.openTimer);
      // The answerer is handed the channel once it is open.
      const sink = new ChannelSink(dc, `webrtc:${rtc.remoteAddress()}`);
      sink.markOpen();
      peer.sink = sink;
      dc.onMessage((msg) => {
        const bytes = messageBytes(msg);
        if (bytes !== null && sink.isOpen) this.opts.receive(bytes, sink);
      });
      dc.onClosed(() => this.drop(peer, 'data channel closed'));
      this.opts.log.info({ peer: sink.peer, from }, 'WebRTC peer connected');
    });
    try {
      rtc.pc.setRemoteDescription(offerSdp, 'offer');
      await rtc.gathered(GATHER_TIMEOUT_MS);
      if (rtc.isClosed) throw new Error('connection closed while gathering candidates');
      return rtc.localSdp();
    } catch (err) {
      this.drop(peer, 'offer failed');
      throw err;
    }
  }

  private drop(peer: Peer, reason: string): void {
    if (!this.peers.delete(peer)) return;
    clearTimeout(peer.openTimer);
    peer.sink?.markClosed();
    peer.rtc.close();
    if (peer.sink !== null) this.opts.log.info({ peer: peer.sink.peer, reason, droppedPackets: peer.sink.dropped }, 'WebRTC peer gone');
  }
}

function reply(res: http.ServerResponse, status: number, headers: Record<string, string> = {}, body = ''): void {
  res.sendDate = false;
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' });
  res.end(body);
}
