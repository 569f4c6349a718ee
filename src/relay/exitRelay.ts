/**
 * The exit role: the relay next to the real service. Every stream the peer opens becomes one TCP
 * connection to the target of the service it names (`forward` for the unnamed one); if that
 * connection cannot be made the stream is reset at once, so the viewer's connection at the entry
 * relay closes promptly instead of hanging. A stream naming a service this relay does not know is
 * reset with a log line.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { SessionEvent, StreamId } from '../session/api.ts';
import { formatHostPort, type HostPort } from '../io/address.ts';
import type { CoreSession } from '../io/core.ts';
import type { Diagnostics } from '../io/diagnosis.ts';
import type { SessionHandler, Transport } from '../io/transport.ts';
import { ResetCode } from '../session/resetCode.ts';
import type { StreamAdmission } from './admission.ts';
import { BridgeSet } from './bridgeSet.ts';

export interface ExitRelayOptions {
  /** Where streams of the unnamed service go; null: they are refused. */
  forward: HostPort | null;
  /** Targets of named services (the name travels with each stream open). */
  services?: ReadonlyMap<string, HostPort>;
  log: Logger;
  /** Give up on a connection to `forward` after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** The relay-wide stream cap; a stream beyond it is reset with `ResetCode.Refused`. None: no cap. */
  admission?: StreamAdmission;
  /** Where a service that cannot be reached is reported (and cleared once it can); none: only the stream's log line. */
  diagnostics?: Diagnostics;
}

/**
 * While a service cannot be reached, a connection to it is tried this often, so the problem (and
 * the 503 of `/healthz`) ends when the service is back, not only when a viewer next tries.
 */
const FORWARD_PROBE_MS = 5000;

/** Words for the errors of a TCP connect, after the errno. */
const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'no answer',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EADDRNOTAVAIL: 'address not available',
};

/** `connection refused (ECONNREFUSED)`: what the kernel said, in words and as the errno to search for. */
function describeConnectError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined) return err.message;
  return `${CONNECT_ERRORS[code] ?? err.message} (${code})`;
}

/** Connects the peer's streams to the service; plug into a transport with `transport.start(exit)`. */
export class ExitRelay implements SessionHandler {
  readonly bridges: BridgeSet;
  private readonly targets = new Map<string, { address: HostPort; name: string }>();
  private readonly log: Logger;
  private readonly connectTimeoutMs: number;
  private readonly admission: StreamAdmission | undefined;
  private readonly diagnostics: Diagnostics | undefined;
  /** Targets that refused their last connection: the timer of the next probe, or null while a probe is under way. */
  private readonly failing = new Map<string, NodeJS.Timeout | null>();
  private draining = false;

  constructor(
    private readonly transport: Transport,
    opts: ExitRelayOptions,
  ) {
    if (opts.forward !== null) this.targets.set('', { address: opts.forward, name: formatHostPort(opts.forward) });
    for (const [service, address] of opts.services ?? []) this.targets.set(service, { address, name: formatHostPort(address) });
    this.log = opts.log;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.admission = opts.admission;
    this.diagnostics = opts.diagnostics;
    this.bridges = new BridgeSet(opts.log, () => transport.wake());
  }

  onSessionEvent(session: CoreSession, e: SessionEvent): void {
    if (this.bridges.dispatch(session, e)) return;
    if (e.type === 'streamOpened') this.connect(session, e.streamId, e.service);
  }

  /**
   * Refuses new streams, waits up to `timeoutMs` for the open ones to finish, then resets what is
   * left. Resolves with the number of streams that had to be reset.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.draining = true;
    for (const timer of this.failing.values()) if (timer !== null) clearTimeout(timer);
    this.failing.clear();
    const left = await this.bridges.waitEmpty(timeoutMs);
    this.bridges.shutDownAll();
    return left;
  }

  private connect(session: CoreSession, streamId: StreamId, service: string): void {
    if (this.draining) {
      session.streamReset(streamId, ResetCode.SessionClosed);
      this.transport.wake();
      return;
    }
    const target = this.targets.get(service);
    if (target === undefined) {
      this.log.warn({ sessionId: session.id, streamId, service }, service === '' ? 'stream for the unnamed service, but there is no forward target; reset' : 'stream for an unknown service; reset');
      session.streamReset(streamId, ResetCode.Refused);
      this.transport.wake();
      return;
    }
    if (this.admission?.admit({ sessionId: session.id, streamId }) === false) {
      session.streamReset(streamId, ResetCode.Refused);
      this.transport.wake();
      return;
    }
    const { host, port } = target.address;
    const socket = net.connect({ host, port, allowHalfOpen: true });
    socket.setTimeout(this.connectTimeoutMs, () => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      socket.setTimeout(0);
      this.reachable(target.name);
    });
    // The bridge handles the error for the stream; this only tells the operator why.
    socket.once('error', (err) => {
      if (!connected) this.unreachable(target, err);
    });
    this.bridges.add(session, streamId, socket, target.name, service);
  }

  /** A connection to `target` failed: report it, and probe it until it accepts one again. */
  private unreachable(target: { address: HostPort; name: string }, err: Error): void {
    this.diagnostics?.report('forward-failed', `forward ${target.name}`, `forward ${target.name}: ${describeConnectError(err)}`, { forward: target.name });
    // One probe scheduled per target: a failure while one is pending changes nothing.
    const pending = this.failing.get(target.name);
    if (this.diagnostics === undefined || this.draining || (pending !== undefined && pending !== null)) return;
    const timer = setTimeout(() => {
      this.failing.set(target.name, null);
      const probe = net.connect({ host: target.address.host, port: target.address.port });
      probe.setTimeout(this.connectTimeoutMs, () => probe.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
      probe.once('connect', () => {
        probe.destroy();
        this.reachable(target.name);
      });
      probe.once('error', (e) => {
        if (this.failing.has(target.name)) this.unreachable(target, e);
      });
    }, FORWARD_PROBE_MS);
    timer.unref();
    this.failing.set(target.name, timer);
  }

  private reachable(name: string): void {
    const timer = this.failing.get(name);
    if (timer !== undefined && timer !== null) clearTimeout(timer);
    this.failing.delete(name);
    this.diagnostics?.clear('forward-failed', `forward ${name}`, `forward ${name}: connected again`);
  }
}
