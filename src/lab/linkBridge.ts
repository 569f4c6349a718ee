/**
 * The kernel-TCP half of the link emulation (see `namespaceLink.ts`): a userspace forwarder
 * between two UDP endpoints (two `socat` processes, each bridging a TUN device to loopback UDP),
 * with one {@link Link} model per direction. Kernel TCP between two network namespaces then
 * crosses the very model the UDP impairment proxy applies to bering, seeded the same way, so the
 * demo and the bench compare both on identical links.
 *
 * Each side is a socket bound on loopback and connected to that side's peer: a datagram arriving
 * from side A crosses the `aToB` link and leaves from side B's socket to B's peer, and the other
 * way round. The payload is a whole IP packet, so configure `overheadBytes: 0` to count the same
 * wire bytes as the proxy does for UDP payloads plus their 28 bytes of IP/UDP header.
 *
 * Timing follows the impairment proxy: `performance.now()` clock, a heap of pending deliveries,
 * one timer armed for the earliest; nothing leaves early, at most a timer tick late.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import type { HostPort } from '../io/address.ts';
import { EventQueue } from '../sim/eventQueue.ts';
import { Link, linkRng, type LinkConfig, type LinkStats } from '../sim/link.ts';

export interface LinkBridgeOptions {
  /** Side A's peer: datagrams from it cross `aToB`; `bToA` deliveries go to it. Loopback. */
  aPeer: HostPort;
  /** Side B's peer. */
  bPeer: HostPort;
  aToB: LinkConfig;
  bToA: LinkConfig;
  /** Seeds both links: `linkRng(seed, 0)` for aToB and `linkRng(seed, 1)` for bToA, as the proxy. */
  seed: number;
}

export type Direction = 'aToB' | 'bToA';

/** Socket buffers that absorb a timer tick of bursts at 100+ Mbit/s (as the proxy's). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
const TO_B = 0;
const TO_A = 1;

/** A running bridge; {@link LinkBridge.start} it, point each peer at its port, `close()` after. */
export class LinkBridge {
  /** Port (on 127.0.0.1) that side A's peer sends to. */
  readonly portA: number;
  /** Port (on 127.0.0.1) that side B's peer sends to. */
  readonly portB: number;

  private readonly queue = new EventQueue<Buffer>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private socketErrors = 0;
  private closed = false;

  /** Validates the link configs, binds and connects both sockets. */
  static async start(opts: LinkBridgeOptions): Promise<LinkBridge> {
    const links = { aToB: new Link(opts.aToB, linkRng(opts.seed, 0)), bToA: new Link(opts.bToA, linkRng(opts.seed, 1)) };
    const [a, b] = await Promise.all([bindConnected(opts.aPeer), bindConnected(opts.bPeer)]);
    return new LinkBridge(a, b, links);
  }

  private constructor(
    private readonly a: dgram.Socket,
    private readonly b: dgram.Socket,
    private readonly links: { aToB: Link; bToA: Link },
  ) {
    this.portA = a.address().port;
    this.portB = b.address().port;
    a.on('message', (msg: Buffer) => this.accept(links.aToB, msg, TO_B));
    b.on('message', (msg: Buffer) => this.accept(links.bToA, msg, TO_A));
    const onError = (): void => {
      this.socketErrors++;
    };
    a.on('error', onError);
    b.on('error', onError);
  }

  /** The bridge's clock (`performance.now()`, ms): the time base of blackout windows. */
  now(): number {
    return performance.now();
  }

  /** Changes one direction's link on the fly (see `Link.setConfig`). */
  setConfig(direction: Direction, partial: Partial<LinkConfig>): void {
    this.links[direction].setConfig(partial);
  }

  /** Snapshot of both links' counters, the pending deliveries and socket errors seen. */
  stats(): { aToB: LinkStats; bToA: LinkStats; pending: number; socketErrors: number } {
    return { aToB: { ...this.links.aToB.stats }, bToA: { ...this.links.bToA.stats }, pending: this.queue.size, socketErrors: this.socketErrors };
  }

  /** Stops forwarding and closes both sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.queue.clear();
    await Promise.all([this.a, this.b].map((s) => new Promise<void>((done) => s.close(() => done()))));
  }

  private accept(link: Link, msg: Buffer, tag: number): void {
    const now = performance.now();
    const at = link.send(now, msg.length);
    if (at >= 0) this.queue.push(at, tag, msg);
    this.deliverDue(now);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.deliverDue(performance.now());
  };

  private deliverDue(now: number): void {
    const queue = this.queue;
    while (queue.nextTime <= now) {
      const tag = queue.nextTag;
      const msg = queue.pop();
      (tag === TO_B ? this.b : this.a).send(msg);
    }
    const next = queue.nextTime;
    if (next < this.timerAt && !this.closed) {
      clearTimeout(this.timer);
      this.timerAt = next;
      // Timers fire on whole milliseconds, maybe a hair before `next`: onTimer re-checks.
      this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(next - now)));
    }
  }
}

async function bindConnected(peer: HostPort): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  socket.connect(peer.port, peer.host);
  await once(socket, 'connect');
  return socket;
}
