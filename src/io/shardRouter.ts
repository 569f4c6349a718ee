/**
 * The main thread of a listening relay whose sessions run in worker threads (`--workers N`): it
 * owns the UDP sockets and passes each datagram to the worker of its session, so that N
 * sessions' crypto, FEC, congestion control and TCP use N cores while the sockets stay one set
 * of ports. Routing needs no crypto and no table: every worker hands out session ids of its own
 * residue modulo N (the Listener's `sessionIds`), and a Data packet carries the receiver's id in
 * clear. A handshake, which has no id of ours yet, goes to the worker with the fewest sessions;
 * its copies on the dialer's other paths (same initiator id) follow it there. Nothing here is
 * authenticated: a forged datagram reaches a worker, which drops and counts it as it would have.
 * Datagrams that are none of ours are dropped here and counted.
 */
import type { Logger } from 'pino';
import { formatHostPort, type HostPort } from './address.ts';
import { shardOfSessionId } from '../session/listener.ts';
import { PacketType, packetType, peekInitiatorId, peekSessionId } from '../wire/packet.ts';
import { bindEach } from './datagramSocket.ts';
import { ChannelEnd, newChannelMemory, type ChannelMemory } from './shardChannel.ts';
import type { DatagramSource } from './udpBatch.ts';
import { UdpSocket } from './udpSocket.ts';

/**
 * How long a handshake's copies (the dialer sends its init on every path at once) follow the
 * first one to its worker; a redial after that is a new handshake.
 */
const HANDSHAKE_AFFINITY_MS = 10_000;
/** Handshakes remembered at most: forged inits must not grow the table without bound. */
const HANDSHAKE_TABLE_LIMIT = 4096;

export interface ShardRouterOptions {
  listen: HostPort[];
  /** Worker threads, numbered 0 .. shards - 1. */
  shards: number;
  /** Posts worker `shard` a message that makes it read its channel (see `ChannelEnd`). */
  wake: (shard: number) => void;
  log: Logger;
  /** Monotonic milliseconds; performance.now by default. */
  clock?: () => number;
}

/** Routes between the listening sockets and the workers; see the module comment. */
export class ShardRouter {
  private sockets: UdpSocket[] = [];
  /** Each worker's channel memory, to post it as the worker starts. */
  readonly memory: ChannelMemory[];
  private readonly channels: ChannelEnd[];
  private readonly sessions: number[];
  /** Handshakes sent to a worker since it last told its session count. */
  private readonly pendingHandshakes: number[];
  private readonly handshakeShard = new Map<number, { shard: number; at: number }>();
  private readonly clock: () => number;
  /** Datagrams that were none of ours (scanners, garbage), dropped before any worker saw them. */
  unroutable = 0;

  constructor(private readonly opts: ShardRouterOptions) {
    this.clock = opts.clock ?? (() => performance.now());
    this.memory = Array.from({ length: opts.shards }, () => newChannelMemory());
    this.channels = this.memory.map(
      (m, shard) => new ChannelEnd(m.toWorker, m.toMain, () => opts.wake(shard), (local, host, port, bytes) => this.sendOut(local, host, port, bytes)),
    );
    this.sessions = new Array<number>(opts.shards).fill(0);
    this.pendingHandshakes = new Array<number>(opts.shards).fill(0);
  }

  /** The bound addresses, in `listen` order. */
  get addresses(): HostPort[] {
    return this.sockets.map((s) => s.local);
  }

  /** Whether every socket sends and receives in batches (the native module loaded). */
  get batched(): boolean {
    return this.sockets.every((s) => s.batched);
  }

  /** Sends that failed on the sockets (unreachable peer, full buffer). */
  get sendErrors(): number {
    return this.sockets.reduce((n, s) => n + s.sendErrors, 0);
  }

  /** Binds every address; rejects with a `ListenError` (and binds none) if any fails. */
  async start(): Promise<void> {
    this.sockets = await bindEach(this.opts.listen, (a) => UdpSocket.bind(a));
    this.sockets.forEach((socket, local) => socket.receive((bytes, from) => this.route(local, bytes, from)));
    for (const channel of this.channels) channel.read();
    this.opts.log.info(
      { udp: this.addresses.map(formatHostPort), workers: this.opts.shards, batchedIo: this.batched },
      'listening for peers',
    );
  }

  /** Worker `shard` has `count` sessions now; new handshakes go where there are fewest. */
  setSessionCount(shard: number, count: number): void {
    this.sessions[shard] = count;
    this.pendingHandshakes[shard] = 0;
  }

  /** Sends what worker `shard` wrote to its channel (on its wake message). */
  read(shard: number): void {
    this.channels[shard].read();
  }

  /** Datagrams dropped because a worker was too far behind (its channel was full). */
  get channelDrops(): number {
    return this.channels.reduce((n, c) => n + c.writer.dropped, 0);
  }

  /** Closes the sockets, after what was queued on them left (or `graceMs` passed). */
  async close(graceMs?: number): Promise<void> {
    const sockets = this.sockets;
    this.sockets = [];
    await Promise.all(sockets.map((s) => s.close(graceMs)));
  }

  private route(local: number, bytes: Uint8Array, from: DatagramSource): void {
    const type = packetType(bytes);
    let shard: number;
    if (type === PacketType.Data) shard = shardOfSessionId(peekSessionId(bytes)!, this.opts.shards);
    else if (type === PacketType.HandshakeInit) shard = this.shardForHandshake(bytes);
    else {
      this.unroutable++;
      return;
    }
    this.channels[shard].send(local, from.address, from.port, bytes);
  }

  private sendOut(local: number, host: string, port: number, bytes: Uint8Array): void {
    const socket = this.sockets[local];
    if (socket === undefined) return;
    // A batched socket copies at once; dgram would hold the view past the ring's reuse of it.
    socket.sendTo(socket.batched ? bytes : bytes.slice(), port, host);
  }

  private shardForHandshake(init: Uint8Array): number {
    const initiator = peekInitiatorId(init);
    const now = this.clock();
    const known = this.handshakeShard.get(initiator);
    if (known !== undefined && now - known.at < HANDSHAKE_AFFINITY_MS) return known.shard;
    let best = 0;
    for (let s = 1; s < this.opts.shards; s++) {
      if (this.sessions[s] + this.pendingHandshakes[s] < this.sessions[best] + this.pendingHandshakes[best]) best = s;
    }
    this.pendingHandshakes[best]++;
    if (this.handshakeShard.size >= HANDSHAKE_TABLE_LIMIT) this.handshakeShard.clear();
    this.handshakeShard.set(initiator, { shard: best, at: now });
    return best;
  }
}
