/**
 * The exit role: the relay next to the real service. Every stream the peer opens becomes one TCP
 * connection to `forward`; if that connection cannot be made the stream is reset at once, so the
 * viewer's connection at the entry relay closes promptly instead of hanging.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { SessionEvent, StreamId } from '../session/api.ts';
import { formatHostPort, type HostPort } from '../io/address.ts';
import type { CoreSession } from '../io/core.ts';
import type { SessionHandler, Transport } from '../io/transport.ts';
import { ResetCode } from '../session/session.ts';
import { BridgeSet } from './bridgeSet.ts';

export interface ExitRelayOptions {
  /** The service every stream is connected to. */
  forward: HostPort;
  log: Logger;
  /** Give up on a connection to `forward` after this long (default 10 s). */
  connectTimeoutMs?: number;
}

/** Connects the peer's streams to the service; plug into a transport with `transport.start(exit)`. */
export class ExitRelay implements SessionHandler {
  readonly bridges: BridgeSet;
  private readonly forward: HostPort;
  private readonly forwardName: string;
  private readonly connectTimeoutMs: number;
  private draining = false;

  constructor(
    private readonly transport: Transport,
    opts: ExitRelayOptions,
  ) {
    this.forward = opts.forward;
    this.forwardName = formatHostPort(opts.forward);
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.bridges = new BridgeSet(opts.log, () => transport.wake());
  }

  onSessionEvent(session: CoreSession, e: SessionEvent): void {
    if (this.bridges.dispatch(session, e)) return;
    if (e.type === 'streamOpened') this.connect(session, e.streamId);
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

  private connect(session: CoreSession, streamId: StreamId): void {
    if (this.draining) {
      session.streamReset(streamId, ResetCode.SessionClosed);
      this.transport.wake();
      return;
    }
    const socket = net.connect({ host: this.forward.host, port: this.forward.port, allowHalfOpen: true });
    socket.setTimeout(this.connectTimeoutMs, () => socket.destroy(new Error('connect timeout')));
    socket.once('connect', () => socket.setTimeout(0));
    this.bridges.add(session, streamId, socket, this.forwardName);
  }
}
