/**
 * Puts a relay together: a TCP role (entry: accept viewers; exit: connect to the service) on a
 * transport (dialer: `--peer`; listener: `--udp-listen`). The two choices are independent, so an
 * exit relay behind NAT can dial out to a listening entry relay with no new code.
 */
import type { Logger } from 'pino';
import type { HostPort } from '../io/address.ts';
import type { CoreListener, DialFn } from '../io/core.ts';
import { Diagnostics } from '../io/diagnosis.ts';
import { loadFec, type ReedSolomon } from '../fec/index.ts';
import type { SessionConfig } from '../session/config.ts';
import { Listener, type HandshakeRateLimit, type SessionIdShard } from '../session/listener.ts';
import { cryptoRng } from '../io/cryptoRng.ts';
import { Session } from '../session/session.ts';
import type { StreamProbe } from '../session/streamProbe.ts';
import { SessionLoop } from '../io/sessionLoop.ts';
import type { SessionHandler, Transport } from '../io/transport.ts';
import type { Backoff } from '../io/backoff.ts';
import { PeerDialer, type PeerAddress } from '../io/peerDialer.ts';
import { UdpListener, type UdpListenerOptions } from '../io/udpListener.ts';
import { WebRtcEndpoint } from '../io/webrtcEndpoint.ts';
import { DEFAULT_MAX_STREAMS, StreamAdmission } from './admission.ts';
import { EntryRelay } from './entryRelay.ts';
import { ExitRelay } from './exitRelay.ts';
import { ConnectionsPerAddress, DEFAULT_MAX_CONNS_PER_IP } from './perAddress.ts';
import type { StreamInfo, StreamTotals } from './bridgeSet.ts';

/** Makes sessions: the real core in production, a test double in tests. */
export interface CoreFactory {
  dial: DialFn;
  listener(): CoreListener;
}

/** Limits of a listening relay's handshakes (see `Listener`); defaults where left out. */
export interface ListenerLimits {
  /** Live sessions at most (default 256). */
  maxSessions?: number;
  /** Handshakes reaching the key exchange (default 20 a second, bursts of 40). */
  handshakeRate?: HandshakeRateLimit;
  /** This listener's share of the session ids, when worker threads split one set of sockets. */
  sessionIds?: SessionIdShard;
}

/**
 * The real core, keyed with the pre-shared key, drawing randomness from the OS and repairing
 * losses with the wasm Reed-Solomon engine (loaded here unless given; a few milliseconds).
 * `probe` watches every session's stream bytes (BERING_STREAM_TRACE).
 */
export function sessionCore(
  psk: Uint8Array,
  config?: Partial<SessionConfig>,
  limits: ListenerLimits = {},
  fec: ReedSolomon = loadFec(),
  probe?: StreamProbe,
): CoreFactory {
  return {
    dial: (now, wallNow, pathIds, overrides) => Session.dial({ now, wallNow, psk, pathIds, rng: cryptoRng, config: { ...config, ...overrides }, fec, probe }),
    listener: () =>
      new Listener({
        psk,
        rng: cryptoRng,
        config,
        fec,
        maxSessions: limits.maxSessions,
        handshakeRate: limits.handshakeRate,
        sessionIds: limits.sessionIds,
        startedAt: Date.now(),
        probe,
      }),
  };
}

/** One TCP listener of an entry relay: streams of connections accepted there ask for `service`. */
export interface EntryService {
  /** '' for the unnamed service (the exit relay's `forward`). */
  service: string;
  listen: HostPort;
}

export interface RelaySpec {
  /**
   * TCP role. Entry: accept viewers on `listen` (one address: the unnamed service; or one
   * listener per named service). Exit: connect streams of the unnamed service to `forward` (null:
   * refuse them) and those of a named service to its target in `services`.
   */
  tcp: { listen: HostPort | EntryService[] } | { forward: HostPort | null; services?: ReadonlyMap<string, HostPort> };
  /**
   * Transport: dial the peer's addresses (one path each; `webrtc` ones are WebRTC signalling
   * endpoints) or accept on local UDP addresses (possibly none when `webrtc.listen` is given).
   */
  udp: { peers: PeerAddress[] } | { listen: HostPort[]; bind?: UdpListenerOptions['bind'] };
  /**
   * WebRTC paths: the pre-shared key that authenticates signalling, STUN/TURN servers, and on a
   * listening relay the signalling endpoint (TCP, with ICE on UDP at the same address). Needed
   * when a peer is `webrtc` or to accept WebRTC paths.
   */
  webrtc?: { psk: Uint8Array; stunServers?: string[]; listen?: HostPort };
  core: CoreFactory;
  log: Logger;
  /** Shared loop when several relays run in one process (the demo); a new one by default. */
  loop?: SessionLoop;
  /** Re-dial schedule of a dialing relay. */
  backoff?: Backoff;
  /** Entry role: how long a connection waits for a session before it is reset. */
  waitForSessionMs?: number;
  /** Streams the relay carries at once, all sessions together (default {@link DEFAULT_MAX_STREAMS}); more are refused. */
  maxStreams?: number;
  /** Entry role: connections one client address may hold at once (default {@link DEFAULT_MAX_CONNS_PER_IP}). */
  maxConnsPerIp?: number;
}

/** A running relay. */
export interface Relay {
  readonly role: 'entry' | 'exit';
  readonly transport: Transport;
  /** Entry role: the bound TCP address (of the first listener when there are several). */
  readonly tcpAddress: HostPort | null;
  /** Entry role: every listener with its bound address, in the order given. */
  readonly tcpServices: EntryService[];
  /** Listening transport: the bound UDP addresses. */
  readonly udpAddresses: HostPort[];
  /** Listening transport: the bound WebRTC signalling endpoint, if any. */
  readonly webrtcAddress: HostPort | null;
  /** Streams carried so far, finished ones only (live ones are in {@link streams}). */
  readonly totals: StreamTotals;
  /** What is wrong right now, in words (a peer with another key, a silent path, a service that refuses). */
  readonly diagnostics: Diagnostics;
  /** Whether this relay dials the other (`--peer`) rather than waits for it. */
  readonly dials: boolean;
  /** Live streams. */
  readonly openStreams: number;
  /** New streams refused because the relay carried `maxStreams` already (the hook for a metric). */
  readonly streamsRefused: number;
  /** Entry role: connections reset because their address held `maxConnsPerIp` already. */
  readonly connectionsRefusedPerIp: number;
  /** Every live stream with its byte counts so far, for the status endpoint. */
  streams(): StreamInfo[];
  /**
   * Graceful stop: refuse new connections, let open ones finish for up to `drainTimeoutMs`, reset
   * the rest, close the sessions (the peer is told) and the sockets. Resolves with the number of
   * streams that had to be reset.
   */
  stop(drainTimeoutMs: number): Promise<number>;
}

/** Binds and starts a relay; rejects with a `ListenError` when an address cannot be used. */
export async function startRelay(spec: RelaySpec): Promise<Relay> {
  const loop = spec.loop ?? new SessionLoop();
  const log = spec.log;
  const diagnostics = new Diagnostics(log);
  const dials = 'peers' in spec.udp;
  const transport: PeerDialer | UdpListener =
    'peers' in spec.udp
      ? new PeerDialer({ peers: spec.udp.peers, webrtc: spec.webrtc, dial: spec.core.dial, loop, log, backoff: spec.backoff, diagnostics })
      : new UdpListener({ listen: spec.udp.listen, bind: spec.udp.bind, listener: spec.core.listener(), loop, log, diagnostics });
  const tcp = spec.tcp;
  const entries = 'listen' in tcp ? (Array.isArray(tcp.listen) ? tcp.listen : [{ service: '', listen: tcp.listen }]) : [];
  const perAddress = new ConnectionsPerAddress(spec.maxConnsPerIp ?? DEFAULT_MAX_CONNS_PER_IP, log);
  const admission = new StreamAdmission(spec.maxStreams ?? DEFAULT_MAX_STREAMS, () => roles.reduce((n, r) => n + r.bridges.size, 0), log);
  const roles: Array<EntryRelay | ExitRelay> =
    'listen' in tcp
      ? entries.map((e) => new EntryRelay(transport, { listen: e.listen, service: e.service, log, waitForSessionMs: spec.waitForSessionMs, admission, perAddress }))
      : [new ExitRelay(transport, { forward: tcp.forward, services: tcp.services, log, admission, diagnostics })];
  // Every role sees every event; each acts only on the streams in its own bridge set.
  const handler: SessionHandler =
    roles.length === 1 ? roles[0] : { onSessionEvent: (session, e) => roles.forEach((r) => r.onSessionEvent(session, e)) };
  const drainAll = async (timeoutMs: number): Promise<number> =>
    (await Promise.all(roles.map((r) => r.drain(timeoutMs)))).reduce((a, b) => a + b, 0);

  const webrtcListen = spec.webrtc?.listen;
  const webrtc =
    transport instanceof UdpListener && webrtcListen !== undefined
      ? new WebRtcEndpoint({ listen: webrtcListen, psk: spec.webrtc!.psk, stunServers: spec.webrtc!.stunServers, receive: (bytes, from) => transport.receive(bytes, from), log })
      : null;

  // Bind TCP first: an entry relay whose port is taken should fail before it dials anybody.
  const tcpServices: EntryService[] = [];
  try {
    for (const [i, role] of roles.entries()) {
      if (role instanceof EntryRelay) tcpServices.push({ service: entries[i].service, listen: await role.listen() });
    }
    await transport.start(handler);
  } catch (err) {
    await drainAll(0);
    throw err;
  }
  try {
    await webrtc?.start();
  } catch (err) {
    await drainAll(0);
    await transport.close('relay failed to start');
    throw err;
  }
  return {
    role: 'listen' in tcp ? 'entry' : 'exit',
    transport,
    tcpAddress: tcpServices[0]?.listen ?? null,
    tcpServices,
    udpAddresses: transport instanceof UdpListener ? transport.addresses : [],
    webrtcAddress: webrtc === null ? null : webrtc.address,
    diagnostics,
    dials,
    get totals() {
      const sum: StreamTotals = { opened: 0, finished: 0, aborted: 0, bytesFromTcp: 0, bytesToTcp: 0 };
      for (const r of roles) for (const k of Object.keys(sum) as Array<keyof StreamTotals>) sum[k] += r.bridges.totals[k];
      return sum;
    },
    get openStreams() {
      return roles.reduce((n, r) => n + r.bridges.size, 0);
    },
    get streamsRefused() {
      return admission.refused;
    },
    get connectionsRefusedPerIp() {
      return perAddress.refused;
    },
    streams: () => roles.flatMap((r) => r.bridges.list()),
    async stop(drainTimeoutMs: number): Promise<number> {
      const left = await drainAll(drainTimeoutMs);
      await transport.close('relay shutting down');
      // After the transport: the sessions' close packets go out on the channels first.
      await webrtc?.close();
      return left;
    },
  };
}
