/**
 * The dialing side of one WebRTC path (`--peer webrtc://H:P`): a peer connection to the exit
 * relay, set up through its signalling endpoint (src/io/webrtcEndpoint.ts), carrying one
 * unordered, never-retransmitted data channel whose messages are bering packets. The dialer
 * treats it like a connected UDP socket: {@link WebRtcPath.send} drops while the channel is not
 * open, and whatever arrives goes to the session as datagrams of this path id.
 *
 * When the channel closes or never opens, the path sets it up again with backoff; the session
 * meanwhile sees the path go silent, fails over, and re-admits it once its probes are answered on
 * the new channel.
 */
import http from 'node:http';
import type { Logger } from 'pino';
import { formatHostPort, type HostPort } from './address.ts';
import type { PathSink } from './pathSink.ts';
import { backoffDelay, type Backoff } from './backoff.ts';
import { CHANNEL_INIT, CHANNEL_LABEL, ChannelSink, loadNative, messageBytes, RtcPeer } from './webrtcNative.ts';
import { AUTH_HEADER, MAX_BODY_BYTES, openAnswer, sealOffer, SIGNAL_PATH } from './webrtcSignal.ts';

export interface WebRtcPathOptions {
  /** The exit relay's signalling endpoint. */
  endpoint: HostPort;
  /** `signallingKey(psk)`. */
  key: Buffer;
  /** `stun:host:port` / `turn:user:pass@host:port` URLs; none by default. */
  stunServers?: readonly string[];
  /** For the logs. */
  pathId: number;
  /** Receives every packet that arrives on the channel. */
  onMessage(bytes: Uint8Array): void;
  log: Logger;
  backoff: Backoff;
  /** Wall clock for the offer's timestamp. */
  wallClock: () => number;
}

/** How long our offer waits for our candidates (host ones are instant; STUN takes an RTT). */
const GATHER_TIMEOUT_MS = 3000;
/** How long the signalling endpoint may take to answer. */
const SIGNAL_TIMEOUT_MS = 5000;
/** How long setting a channel up may take in all: gathering, signalling, ICE, DTLS and SCTP. */
const SETUP_TIMEOUT_MS = 15_000;

/** One WebRTC path, kept open (re-established with backoff) until {@link close}. */
export class WebRtcPath implements PathSink {
  readonly peer: string;
  private rtc: RtcPeer | null = null;
  private sink: ChannelSink | null = null;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Cancels the signalling request in progress, so closing never waits for its timeout. */
  private signalling: AbortController | null = null;
  private closed = false;
  private settleFirst: (open: boolean) => void = () => {};
  private readonly first: Promise<boolean>;

  constructor(private readonly opts: WebRtcPathOptions) {
    this.peer = `webrtc://${formatHostPort(opts.endpoint)}`;
    this.first = new Promise((ok) => (this.settleFirst = ok));
  }

  /**
   * Starts setting the channel up. Resolves true once it is open, false if the first try failed
   * (it keeps trying in the background either way).
   */
  start(): Promise<boolean> {
    void this.connect();
    return this.first;
  }

  get isOpen(): boolean {
    return this.sink?.isOpen ?? false;
  }

  send(bytes: Uint8Array): void {
    this.sink?.send(bytes);
  }

  /**
   * Stops re-establishing the channel, lets queued packets (a session's close) leave for up to
   * `graceMs`, and closes it.
   */
  async close(graceMs = 200): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.settleFirst(false);
    this.signalling?.abort();
    const rtc = this.rtc;
    await this.sink?.drain(graceMs);
    if (rtc === this.rtc) this.teardown();
  }

  private async connect(): Promise<void> {
    this.retryTimer = null;
    const native = await loadNative();
    if (this.closed) return;
    const rtc = new RtcPeer(native, `bering-path-${this.opts.pathId}`, { iceServers: [...(this.opts.stunServers ?? [])] });
    this.rtc = rtc;
    const dc = rtc.pc.createDataChannel(CHANNEL_LABEL, CHANNEL_INIT);
    const sink = new ChannelSink(dc, this.peer);
    this.sink = sink;
    dc.onMessage((msg) => {
      const bytes = messageBytes(msg);
      if (bytes !== null && this.sink === sink) this.opts.onMessage(bytes);
    });
    const opened = new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no data channel within ${SETUP_TIMEOUT_MS / 1000} s`)), SETUP_TIMEOUT_MS);
      dc.onOpen(() => {
        clearTimeout(timer);
        sink.markOpen();
        ok();
      });
      const broken = (reason: string): void => {
        clearTimeout(timer);
        const wasOpen = sink.isOpen;
        sink.markClosed();
        fail(new Error(reason));
        if (wasOpen) this.lost(rtc, reason);
      };
      dc.onClosed(() => broken('data channel closed'));
      rtc.pc.onStateChange((state) => {
        if (state === 'failed' || state === 'closed') broken(`connection ${state}`);
      });
    });
    // It may fail while we are still signalling; the await below collects the reason.
    opened.catch(() => {});
    try {
      await rtc.gathered(GATHER_TIMEOUT_MS);
      if (rtc !== this.rtc) return;
      this.signalling = new AbortController();
      const answer = await postOffer(this.opts.endpoint, this.opts.key, rtc.localSdp(), this.opts.wallClock(), this.signalling.signal);
      this.signalling = null;
      if (rtc !== this.rtc) return;
      rtc.pc.setRemoteDescription(answer, 'answer');
      await opened;
    } catch (err) {
      this.signalling = null;
      if (rtc !== this.rtc) return;
      this.teardown();
      this.settleFirst(false);
      this.scheduleRetry(err instanceof Error ? err.message : String(err), 'WebRTC path failed');
      return;
    }
    if (rtc !== this.rtc) return;
    this.failures = 0;
    this.settleFirst(true);
    this.opts.log.info({ pathId: this.opts.pathId, peer: this.peer, via: rtc.remoteAddress() }, 'WebRTC path open');
  }

  /** The open channel of `rtc` broke. */
  private lost(rtc: RtcPeer, reason: string): void {
    if (rtc !== this.rtc) return;
    this.teardown();
    this.scheduleRetry(reason, 'WebRTC path lost');
  }

  private scheduleRetry(reason: string, msg: string): void {
    const { backoff, log, pathId } = this.opts;
    const delay = backoffDelay(backoff, this.failures);
    this.failures++;
    log.warn({ pathId, peer: this.peer, reason, retryInMs: delay }, msg);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private teardown(): void {
    this.sink?.markClosed();
    this.sink = null;
    this.rtc?.close();
    this.rtc = null;
  }
}

/** POSTs an authenticated offer to the signalling endpoint; resolves with the authentic answer's SDP. */
function postOffer(endpoint: HostPort, key: Buffer, sdp: string, wallNow: number, signal: AbortSignal): Promise<string> {
  const offer = sealOffer(key, sdp, wallNow);
  return new Promise((ok, fail) => {
    const req = http.request(
      {
        hostname: endpoint.host,
        port: endpoint.port,
        method: 'POST',
        path: SIGNAL_PATH,
        // One request per connection: nothing pooled keeps sockets (or the process) alive.
        agent: false,
        timeout: SIGNAL_TIMEOUT_MS,
        signal,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(offer.body)), [AUTH_HEADER]: offer.auth },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) req.destroy(new Error('signalling answer too large'));
          else chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (res.statusCode !== 200) {
            const why = res.statusCode === 404 ? ' (a different key, a clock more than a minute off, or not a bering endpoint)' : '';
            fail(new Error(`signalling endpoint answered ${res.statusCode}${why}`));
            return;
          }
          const auth = res.headers[AUTH_HEADER];
          const answer = openAnswer(key, Buffer.concat(chunks), typeof auth === 'string' ? auth : undefined, offer.nonce);
          if (answer === null) fail(new Error('signalling answer failed authentication'));
          else ok(answer);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from the signalling endpoint within ${SIGNAL_TIMEOUT_MS / 1000} s`)));
    req.on('error', fail);
    req.end(offer.body);
  });
}
