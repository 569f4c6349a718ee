/**
 * The entry role: the relay next to the viewers. Every accepted TCP connection becomes one stream
 * on the transport's active session. While there is none (the tunnel is still handshaking, or is
 * re-dialing after the peer restarted), connections wait in a bounded queue and proceed when a
 * session comes up, or are reset when they have waited too long.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { SessionEvent } from '../session/api.ts';
import { formatHostPort, type HostPort } from '../io/address.ts';
import type { CoreSession } from '../io/core.ts';
import type { SessionHandler, Transport } from '../io/transport.ts';
import { describeSocketError, ListenError } from '../io/udpSocket.ts';
import type { StreamAdmission } from './admission.ts';
import { BridgeSet } from './bridgeSet.ts';
import type { ConnectionsPerAddress } from './perAddress.ts';

export interface EntryRelayOptions {
  /** Where viewers connect (port 0: any free port). */
  listen: HostPort;
  log: Logger;
  /** Service name sent with each stream open; the exit relay's single `--forward` ignores it. */
  service?: string;
  /** How long a connection may wait for a session before it is reset (default 10 s). */
  waitForSessionMs?: number;
  /** How many connections may wait at once; more are reset at once (default 1024). */
  maxWaiting?: number;
  /** The relay-wide stream cap; a connection beyond it is reset at once. None: no cap. */
  admission?: StreamAdmission;
  /** The cap on connections per client address, shared by all of a relay's listeners. None: no cap. */
  perAddress?: ConnectionsPerAddress;
}

/** A connection accepted while no stream could be opened for it. */
interface Waiting {
  socket: net.Socket;
  timer: NodeJS.Timeout;
}

/** Accepts viewers' TCP connections and carries each over the tunnel as one stream. */
export class EntryRelay implements SessionHandler {
  readonly bridges: BridgeSet;
  private readonly opts: EntryRelayOptions;
  private readonly log: Logger;
  private readonly server: net.Server;
  private waiting: Waiting[] = [];
  private draining = false;

  constructor(
    private readonly transport: Transport,
    opts: EntryRelayOptions,
  ) {
    this.opts = opts;
    this.log = opts.log;
    this.bridges = new BridgeSet(opts.log, () => transport.wake());
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, this.onConnection);
  }

  /** Starts listening; rejects with a `ListenError`. Resolves with the bound address. */
  async listen(): Promise<HostPort> {
    const { host, port } = this.opts.listen;
    await new Promise<void>((ok, fail) => {
      const onError = (err: Error): void => {
        const { code, detail } = describeSocketError(err);
        fail(new ListenError('tcp', this.opts.listen, code, detail));
      };
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        ok();
      });
    });
    this.server.on('error', (err) => this.log.error({ err: err.message }, 'tcp server error'));
    const bound = this.address;
    this.log.info({ tcp: formatHostPort(bound) }, 'accepting connections');
    return bound;
  }

  /** The bound TCP address. */
  get address(): HostPort {
    const a = this.server.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  onSessionEvent(session: CoreSession, e: SessionEvent): void {
    this.bridges.dispatch(session, e);
    // A session came up, or a stream slot was freed: let waiting connections in.
    if (e.type === 'connected' || e.type === 'streamClosed') this.admitWaiting();
  }

  /**
   * Stops accepting, resets waiting connections, waits up to `timeoutMs` for open streams to
   * finish, then resets what is left. Resolves with the number of streams that had to be reset.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.draining = true;
    const closed = new Promise<void>((ok) => this.server.close(() => ok()));
    for (const w of [...this.waiting]) {
      this.unqueue(w);
      w.socket.resetAndDestroy();
    }
    const left = await this.bridges.waitEmpty(timeoutMs);
    this.bridges.shutDownAll();
    await closed;
    return left;
  }

  private readonly onConnection = (socket: net.Socket): void => {
    const peer = formatHostPort({ host: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 });
    if (this.draining) {
      socket.resetAndDestroy();
      return;
    }
    // Checked first: connections an address may not hold never take a stream or queue slot.
    const perAddress = this.opts.perAddress;
    const address = socket.remoteAddress ?? '?';
    if (perAddress !== undefined) {
      if (!perAddress.acquire(address)) {
        socket.resetAndDestroy();
        return;
      }
      socket.once('close', () => perAddress.release(address));
    }
    if (this.opts.admission?.admit({ tcp: peer }) === false) {
      socket.resetAndDestroy();
      return;
    }
    if (this.waiting.length === 0 && this.tryOpen(socket, peer)) return;
    const maxWaiting = this.opts.maxWaiting ?? 1024;
    if (this.waiting.length >= maxWaiting) {
      this.log.warn({ tcp: peer, waiting: this.waiting.length }, 'too many connections waiting for the tunnel; reset');
      socket.resetAndDestroy();
      return;
    }
    const w: Waiting = {
      socket,
      timer: setTimeout(() => {
        this.log.warn({ tcp: peer }, 'no tunnel session in time; connection reset');
        this.unqueue(w);
        socket.resetAndDestroy();
      }, this.opts.waitForSessionMs ?? 10_000),
    };
    socket.on('error', () => {
      // Its 'close' follows, which takes the connection out of the queue.
    });
    socket.once('close', () => this.unqueue(w));
    this.waiting.push(w);
    // Someone wants the tunnel now: a long outage's backoff should not keep them waiting.
    if (this.transport.activeSession === null) this.transport.redialNow?.();
  };

  private admitWaiting(): void {
    // Waiting connections were admitted when they arrived; they go in as room frees up.
    while (this.waiting.length > 0 && this.opts.admission?.hasRoom !== false) {
      const w = this.waiting[0];
      const peer = formatHostPort({ host: w.socket.remoteAddress ?? '?', port: w.socket.remotePort ?? 0 });
      if (!this.tryOpen(w.socket, peer)) return;
      this.unqueue(w);
    }
  }

  private unqueue(w: Waiting): void {
    clearTimeout(w.timer);
    const i = this.waiting.indexOf(w);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private tryOpen(socket: net.Socket, peer: string): boolean {
    const session = this.transport.activeSession;
    if (session === null) return false;
    const streamId = session.openStream(this.opts.service);
    if (streamId === null) return false;
    this.bridges.add(session, streamId, socket, peer, this.opts.service);
    socket.resume();
    this.transport.wake();
    return true;
  }
}
