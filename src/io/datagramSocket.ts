/**
 * What a listening transport needs of a socket: a real UDP socket ({@link UdpSocket}), or a
 * worker thread's share of the sockets its parent reads (src/io/shardChannel.ts).
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
  close(): Promise<void>;
}
