/**
 * What a listening transport needs of a socket (a real UDP socket, `UdpSocket`, or a worker
 * thread's share of the sockets its parent reads, src/io/shardChannel.ts), and binding a set of
 * them all or none.
 */
import type { HostPort } from './address.ts';
import type { DatagramHandler, SocketErrorHandler } from './udpBatch.ts';

export interface DatagramSocket {
  /** The bound address. */
  readonly local: HostPort;
  /** Whether sends leave in batches rather than one system call each. */
  readonly batched: boolean;
  /** Delivers every datagram (and socket errors) from now on. Call once. */
  receive(onDatagram: DatagramHandler, onError?: SocketErrorHandler): void;
  /** Sends one datagram, possibly later in this turn: `bytes` is the socket's from then on. */
  sendTo(bytes: Uint8Array, port: number, address: string): void;
  /** Closes once queued datagrams left, waiting at most `graceMs` where the socket queues any. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Binds a socket for every address, all or none: if any fails, those that bound are closed at
 * once and the first failure (a `ListenError`) is thrown.
 */
export async function bindEach<S extends Pick<DatagramSocket, 'close'>>(addrs: readonly HostPort[], bind: (addr: HostPort, index: number) => Promise<S>): Promise<S[]> {
  const results = await Promise.allSettled(addrs.map((a, i) => bind(a, i)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.close(0)] : [])));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<S>).value);
}
