/**
 * Puts a relay together: a TCP role (entry: accept viewers; exit: connect to the service) on a
 * transport (dialer: `--peer`; listener: `--udp-listen`). The two choices are independent, so an
 * exit relay behind NAT can dial out to a listening entry relay with no new code.
 */
import type { Logger } from 'pino';
import type { HostPort } from '../io/address.ts';
import type { CoreListener, DialFn } from '../io/core.ts';
import { loadFec } from '../fec/index.ts';
import type { SessionConfig } from '../session/config.ts';
import { Listener } from '../session/listener.ts';
import { cryptoRng } from '../session/rng.ts';
import { Session } from '../session/session.ts';
import { SessionLoop } from '../io/sessionLoop.ts';
import type { Transport } from '../io/transport.ts';
import { UdpDialer, type Backoff } from '../io/udpDialer.ts';
import { UdpListener } from '../io/udpListener.ts';
import { EntryRelay } from './entryRelay.ts';
import { ExitRelay } from './exitRelay.ts';
import type { StreamTotals } from './bridgeSet.ts';

/** Makes sessions: the real core in production, a test double in tests. */
export interface CoreFactory {
  dial: DialFn;
  listener(): CoreListener;
}

/**
 * The real core, keyed with the pre-shared key, drawing randomness from the OS and repairing
 * losses with the wasm Reed-Solomon engine (loaded once here; a few milliseconds).
 */
export function sessionCore(psk: Uint8Array, config?: Partial<SessionConfig>): CoreFactory {
  const fec = loadFec();
  return {
    dial: (now, wallNow, pathIds) => Session.dial({ now, wallNow, psk, pathIds, rng: cryptoRng, config, fec }),
    listener: () => new Listener({ psk, rng: cryptoRng, config, fec }),
  };
}

export interface RelaySpec {
  /** TCP role: accept viewers on `listen` (entry) or connect streams to `forward` (exit). */
  tcp: { listen: HostPort } | { forward: HostPort };
  /** Transport: dial the peer's addresses (one path each) or accept on local ones. */
  udp: { peers: HostPort[] } | { listen: HostPort[] };
  core: CoreFactory;
  log: Logger;
  /** Shared loop when several relays run in one process (the demo); a new one by default. */
  loop?: SessionLoop;
  /** Re-dial schedule of a dialing relay. */
  backoff?: Backoff;
  /** Entry role: how long a connection waits for a session before it is reset. */
  waitForSessionMs?: number;
}

/** A running relay. */
export interface Relay {
  readonly transport: Transport;
  /** Entry role: the bound TCP address. */
  readonly tcpAddress: HostPort | null;
  /** Listening transport: the bound UDP addresses. */
  readonly udpAddresses: HostPort[];
  /** Streams carried so far (the hook for the metrics endpoint). */
  readonly totals: StreamTotals;
  /** Live streams. */
  readonly openStreams: number;
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
  const transport: UdpDialer | UdpListener =
    'peers' in spec.udp
      ? new UdpDialer({ peers: spec.udp.peers, dial: spec.core.dial, loop, log, backoff: spec.backoff })
      : new UdpListener({ listen: spec.udp.listen, listener: spec.core.listener(), loop, log });
  const role =
    'listen' in spec.tcp
      ? new EntryRelay(transport, { listen: spec.tcp.listen, log, waitForSessionMs: spec.waitForSessionMs })
      : new ExitRelay(transport, { forward: spec.tcp.forward, log });

  // Bind TCP first: an entry relay whose port is taken should fail before it dials anybody.
  const tcpAddress = role instanceof EntryRelay ? await role.listen() : null;
  try {
    await transport.start(role);
  } catch (err) {
    if (role instanceof EntryRelay) await role.drain(0);
    throw err;
  }
  return {
    transport,
    tcpAddress,
    udpAddresses: transport instanceof UdpListener ? transport.addresses : [],
    totals: role.bridges.totals,
    get openStreams() {
      return role.bridges.size;
    },
    async stop(drainTimeoutMs: number): Promise<number> {
      const left = await role.drain(drainTimeoutMs);
      await transport.close('relay shutting down');
      return left;
    },
  };
}
