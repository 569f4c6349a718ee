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
import type { SessionHandler, Transport } from '../io/transport.ts';
import { ResetCode } from '../session/session.ts';
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
}

/** Connects the peer's streams to the service; plug into a transport with `transport.start(exit)`. */
export class ExitRelay implements SessionHandler {
  readonly bridges: BridgeSet;
  private readonly targets = new Map<string, { address: HostPort; name: string }>();
  private readonly log: Logger;
  private readonly connectTimeoutMs: number;
  private readonly admission: StreamAdmission | undefined;
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
    socket.setTimeout(this.connectTimeoutMs, () => socket.destroy(new Error('connect timeout')));
    socket.once('connect', () => socket.setTimeout(0));
    this.bridges.add(session, streamId, socket, target.name, service);
  }
}
