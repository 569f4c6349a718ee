/**
 * UDP socket plumbing shared by the dialer and the listener: binding with a clear error, batched
 * sends where the native sender loads (src/io/udpBatch.ts) and otherwise one shared send callback
 * instead of a closure per packet, and a way to let the last packets leave before the socket
 * closes.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { formatHostPort, type HostPort } from './address.ts';
import { BatchReceiver, BatchSender, loadUdpBatch, socketFd, type DatagramHandler, type SocketErrorHandler, type UdpBatchNative } from './udpBatch.ts';

/**
 * Kernel buffer size asked for on every UDP socket. At 100 Mbit/s a 50 ms scheduling hiccup is
 * ~600 KB of datagrams; the default (~200 KB) would drop them. Linux caps the value at
 * net.core.{r,w}mem_max, which is fine: we take what we are given.
 */
export const SOCKET_BUFFER_BYTES = 4 << 20;

/** A listen or bind address could not be used (in use, not local, not resolvable, ...). */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(
    readonly protocol: 'tcp' | 'udp',
    readonly address: HostPort,
    readonly code: string,
    detail: string,
  ) {
    super(`cannot listen on ${protocol} ${formatHostPort(address)}: ${detail}`);
  }
}

/** Human words for the socket errors a user can cause with an address. */
export function describeSocketError(err: unknown): { code: string; detail: string } {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
  const words: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EADDRNOTAVAIL: 'address is not available on this machine',
    EACCES: 'permission denied',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed (temporary)',
  };
  return { code, detail: words[code] ?? (err instanceof Error ? err.message : String(err)) };
}

/** Resolves `host` to one address and its family (4 or 6). */
export async function resolve(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const r = await lookup(host);
  return { address: r.address, family: r.family === 6 ? 6 : 4 };
}

/**
 * A UDP socket for the tunnel: sends (batched where it can), one receive handler, a send error
 * counter, and a close that lets queued datagrams leave.
 */
export class UdpSocket {
  /** Datagrams handed to the kernel whose completion has not been reported yet. */
  private inFlight = 0;
  /**
   * Errors the socket reported (an ICMP unreachable, ENOBUFS), sends dgram failed, and sends to
   * an address of the other family; the batch counts its own refusals and drops.
   */
  private reportedErrors = 0;
  private idleWaiters: Array<() => void> = [];
  /** Batches this socket's sends; null where the native module is not available. */
  private readonly batch: BatchSender | null;
  /** The native module the batch uses; null where it is not. */
  private readonly native: UdpBatchNative | null;
  private receiver: BatchReceiver | null = null;
  private onSocketError: SocketErrorHandler | null = null;

  private constructor(
    readonly socket: dgram.Socket,
    family: 4 | 6,
  ) {
    socket.on('error', (err: NodeJS.ErrnoException) => this.noteError(err.code ?? 'UNKNOWN'));
    const native = loadUdpBatch();
    const fd = native === null ? null : socketFd(socket);
    this.native = fd === null ? null : native;
    this.batch = this.native === null || fd === null ? null : new BatchSender(this.native, fd, family, (code) => this.onSocketError?.(code));
  }

  /** Sends that failed (unreachable peer, full buffer); counted, never logged per packet. */
  get sendErrors(): number {
    return this.reportedErrors + (this.batch === null ? 0 : this.batch.failed + this.batch.dropped);
  }

  /**
   * Delivers every datagram to `onDatagram` (lent for the call, see `DatagramHandler`) and socket
   * errors (their codes, such as ECONNREFUSED from a connected peer's closed port) to `onError`.
   * Call once. With the native module, reading is batched too (src/io/udpBatch.ts).
   */
  receive(onDatagram: DatagramHandler, onError?: SocketErrorHandler): void {
    this.onSocketError = onError ?? null;
    if (this.native !== null) {
      this.receiver = new BatchReceiver(this.native, this.socket, onDatagram, this.noteError);
      return;
    }
    this.socket.on('message', onDatagram);
  }

  private readonly noteError = (code: string): void => {
    // Errors on UDP are per datagram (ICMP unreachable, ENOBUFS): count them, keep the socket.
    this.reportedErrors++;
    this.onSocketError?.(code);
  };

  /** Whether sends leave in batches (the native sender loaded) rather than one dgram call each. */
  get batched(): boolean {
    return this.batch !== null;
  }

  /** Binds a socket to `addr` (port 0: any free port). Rejects with a {@link ListenError}. */
  static async bind(addr: HostPort): Promise<UdpSocket> {
    let resolved: { address: string; family: 4 | 6 };
    try {
      resolved = await resolve(addr.host);
    } catch (err) {
      const { code, detail } = describeSocketError(err);
      throw new ListenError('udp', addr, code, detail);
    }
    const socket = dgram.createSocket({ type: resolved.family === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((ok, fail) => {
      const onError = (err: Error): void => {
        socket.close();
        const { code, detail } = describeSocketError(err);
        fail(new ListenError('udp', addr, code, detail));
      };
      socket.once('error', onError);
      socket.bind(addr.port, resolved.address, () => {
        socket.off('error', onError);
        ok();
      });
    });
    tuneBuffers(socket);
    return new UdpSocket(socket, resolved.family);
  }

  /** A socket bound to an ephemeral port and connected to `remote` (an IP address). */
  static async connect(remote: { address: string; family: 4 | 6; port: number }): Promise<UdpSocket> {
    const socket = dgram.createSocket({ type: remote.family === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((ok, fail) => {
      socket.once('error', fail);
      socket.connect(remote.port, remote.address, () => {
        socket.off('error', fail);
        ok();
      });
    });
    tuneBuffers(socket);
    return new UdpSocket(socket, remote.family);
  }

  /** The bound local address. */
  get local(): HostPort {
    const a = this.socket.address();
    return { host: a.address, port: a.port };
  }

  /** Sends on a connected socket; `bytes` may be reused once this returns. */
  sendConnected(bytes: Uint8Array): void {
    if (this.batch === null) this.sendThroughDgram(bytes);
    else this.batch.queue(bytes);
  }

  /** Sends to `address` (an IP literal, so no name lookup happens) and `port`; `bytes` may be reused once this returns. */
  sendTo(bytes: Uint8Array, port: number, address: string): void {
    if (this.batch === null) this.sendThroughDgram(bytes, port, address);
    // An address this socket cannot send to (another family): a send error, as dgram's would be.
    else if (!this.batch.queue(bytes, port, address)) this.reportedErrors++;
  }

  /** Closes after queued datagrams left (or `graceMs` passed). */
  async close(graceMs = 200): Promise<void> {
    this.batch?.flush();
    // Before dgram closes the descriptor: the poll reading it must be gone first.
    this.receiver?.stop();
    if (this.inFlight > 0) {
      await new Promise<void>((ok) => {
        const timer = setTimeout(ok, graceMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          ok();
        });
      });
    }
    await new Promise<void>((ok) => this.socket.close(() => ok()));
  }

  private sendThroughDgram(bytes: Uint8Array, port?: number, address?: string): void {
    this.inFlight++;
    if (port === undefined) this.socket.send(bytes, this.onSent);
    else this.socket.send(bytes, port, address, this.onSent);
  }

  private readonly onSent = (err: Error | null): void => {
    this.inFlight--;
    if (err) this.reportedErrors++;
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  };
}

function tuneBuffers(socket: dgram.Socket): void {
  try {
    socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
    socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
  } catch {
    // Some sandboxes refuse SO_RCVBUF/SO_SNDBUF changes; the defaults still work, only slower.
  }
}
