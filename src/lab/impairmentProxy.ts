/**
 * A real UDP impairment proxy for end-to-end tests and benches, built on the simulator's
 * {@link Link} model so real sockets see exactly the delay, jitter, loss, rate limit, queue and
 * blackouts a simulation sees (this kernel has no netem).
 *
 * Topology: clients send to `listen`; each client (source address and port) gets its own upstream
 * socket, connected to `target`, like a NAT mapping, so the target sees one distinct source port
 * per client and its replies find their way back. Client -> target datagrams cross the `aToB`
 * link, target -> client datagrams the `bToA` link.
 *
 * Timing: the clock is `performance.now()`. Every datagram's delivery time comes from its link
 * when it arrives; a heap holds it until then. Whatever is due goes out on every incoming datagram
 * and on a single timer armed for the earliest pending delivery, so a datagram is never sent early
 * and, with Node's ~1 ms timer granularity, at most a millisecond or two late, in delivery order.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { once } from 'node:events';
import { isIP } from 'node:net';
import type { Millis } from '../base/time.ts';
import { EventQueue } from '../sim/eventQueue.ts';
import { Link, linkRng, type LinkConfig, type LinkStats } from '../sim/link.ts';

export interface ImpairmentProxyOptions {
  /** Where clients send; port 0 picks an ephemeral port (read it from `address`). */
  listen: { host: string; port: number };
  /** Where client datagrams are forwarded. A host name is resolved once at start. */
  target: { host: string; port: number };
  /** The client -> target link. */
  aToB: LinkConfig;
  /** The target -> client link. */
  bToA: LinkConfig;
  /** Seeds the two links' random streams (independently of each other). */
  seed: number;
}

export interface ImpairmentProxyStats {
  aToB: LinkStats;
  bToA: LinkStats;
  /** Client mappings (one upstream socket each); they live until `close()`. */
  clients: number;
  /** Datagrams accepted by a link and waiting for their delivery time. */
  pending: number;
  /** Socket errors seen (e.g. ICMP port unreachable from a target that is not listening). */
  socketErrors: number;
}

/** Socket buffers large enough to absorb a 1 ms timer tick of bursts at 100+ Mbit/s. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
// Heap tags: (client index << 1) | direction.
const A_TO_B = 0;
const B_TO_A = 1;

interface Client {
  address: string;
  port: number;
  upstream: dgram.Socket;
  /** Datagrams due before the upstream socket finished connecting; null once connected. */
  waiting: Buffer[] | null;
}

/**
 * One proxy between one target and any number of clients. Start with {@link ImpairmentProxy.start},
 * point clients at `address`, `close()` when done. Cost per datagram: one `Link.send`, one heap
 * push/pop and one `send` syscall; no per-datagram closure or timer.
 */
export class ImpairmentProxy {
  /** The bound listen address; clients send here. */
  readonly address: { host: string; port: number };

  private readonly downstream: dgram.Socket;
  private readonly target: { address: string; port: number; type: 'udp4' | 'udp6' };
  private readonly links: { aToB: Link; bToA: Link };
  private readonly queue = new EventQueue<Buffer>();
  private readonly clients: Client[] = [];
  private readonly clientIndex = new Map<string, Map<number, number>>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private socketErrors = 0;
  private closed = false;

  /**
   * Binds the listen socket and resolves the target; resolves once the proxy forwards. Throws if
   * the bind or the lookup fails, or a link config is invalid.
   */
  static async start(opts: ImpairmentProxyOptions): Promise<ImpairmentProxy> {
    // Links first: an invalid config throws before any socket exists.
    const links = {
      // The same random streams as path 0 of a SimNetwork with this seed.
      aToB: new Link(opts.aToB, linkRng(opts.seed, 0)),
      bToA: new Link(opts.bToA, linkRng(opts.seed, 1)),
    };
    const target = await resolve(opts.target.host);
    const listen = await resolve(opts.listen.host);
    const downstream = dgram.createSocket({
      type: listen.type,
      recvBufferSize: SOCKET_BUFFER_BYTES,
      sendBufferSize: SOCKET_BUFFER_BYTES,
    });
    const bound = once(downstream, 'listening');
    downstream.bind(opts.listen.port, listen.address);
    await bound;
    return new ImpairmentProxy(downstream, { ...target, port: opts.target.port }, links);
  }

  private constructor(
    downstream: dgram.Socket,
    target: { address: string; port: number; type: 'udp4' | 'udp6' },
    links: { aToB: Link; bToA: Link },
  ) {
    this.downstream = downstream;
    this.target = target;
    this.links = links;
    const { address, port } = downstream.address();
    this.address = { host: address, port };
    downstream.on('message', this.onClientMessage);
    downstream.on('error', this.onSocketError);
  }

  /** The proxy's clock (`performance.now()`, ms), the time base of blackout windows. */
  now(): Millis {
    return performance.now();
  }

  /**
   * Changes one direction's link on the fly (see `Link.setConfig`), e.g.
   * `setConfig('aToB', { blackouts: [{ fromMs: p.now(), toMs: p.now() + 3000 }] })`. Datagrams
   * already accepted keep their delivery times.
   */
  setConfig(direction: 'aToB' | 'bToA', partial: Partial<LinkConfig>): void {
    this.links[direction].setConfig(partial);
  }

  /** A snapshot of the counters. O(1). */
  stats(): ImpairmentProxyStats {
    return {
      aToB: { ...this.links.aToB.stats },
      bToA: { ...this.links.bToA.stats },
      clients: this.clients.length,
      pending: this.queue.size,
      socketErrors: this.socketErrors,
    };
  }

  /** Stops forwarding, drops pending datagrams and closes every socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.queue.clear();
    const sockets = [this.downstream, ...this.clients.map((c) => c.upstream)];
    await Promise.all(sockets.map((s) => new Promise<void>((done) => s.close(() => done()))));
  }

  private readonly onClientMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const id = this.clientIndex.get(rinfo.address)?.get(rinfo.port) ?? this.addClient(rinfo);
    this.accept(this.links.aToB, msg, (id << 1) | A_TO_B);
  };

  private readonly onSocketError = (): void => {
    this.socketErrors++;
  };

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.deliverDue(performance.now());
  };

  /** Runs `msg` through `link`; queues it for its delivery time and sends whatever is due. */
  private accept(link: Link, msg: Buffer, tag: number): void {
    const now = performance.now();
    const at = link.send(now, msg.length);
    if (at >= 0) this.queue.push(at, tag, msg);
    this.deliverDue(now);
  }

  /** Sends every datagram due at `now`, in delivery order, then arms the timer for the next. */
  private deliverDue(now: Millis): void {
    const queue = this.queue;
    while (queue.nextTime <= now) {
      const tag = queue.nextTag;
      const msg = queue.pop();
      const client = this.clients[tag >> 1];
      if ((tag & 1) === A_TO_B) {
        if (client.waiting === null) client.upstream.send(msg);
        else client.waiting.push(msg);
      } else {
        this.downstream.send(msg, client.port, client.address);
      }
    }
    const next = queue.nextTime;
    if (next < this.timerAt && !this.closed) {
      clearTimeout(this.timer);
      this.timerAt = next;
      // Node fires timers on whole milliseconds, possibly a little before `next` by
      // performance.now(); onTimer re-checks and re-arms, so nothing leaves early.
      this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(next - now)));
    }
  }

  /** Creates the NAT-like mapping for a new client: its own upstream socket connected to target. */
  private addClient(rinfo: dgram.RemoteInfo): number {
    const id = this.clients.length;
    const upstream = dgram.createSocket({
      type: this.target.type,
      recvBufferSize: SOCKET_BUFFER_BYTES,
      sendBufferSize: SOCKET_BUFFER_BYTES,
    });
    const client: Client = { address: rinfo.address, port: rinfo.port, upstream, waiting: [] };
    this.clients.push(client);
    let ports = this.clientIndex.get(rinfo.address);
    if (ports === undefined) this.clientIndex.set(rinfo.address, (ports = new Map()));
    ports.set(rinfo.port, id);
    const replyTag = (id << 1) | B_TO_A;
    // A connected socket only receives from the target and sends without a per-datagram lookup.
    upstream.on('message', (msg: Buffer) => this.accept(this.links.bToA, msg, replyTag));
    upstream.on('error', this.onSocketError);
    upstream.connect(this.target.port, this.target.address, () => {
      const waiting = client.waiting ?? [];
      client.waiting = null;
      if (this.closed) return;
      for (const msg of waiting) upstream.send(msg);
    });
    return id;
  }
}

/** Resolves a host once (literal IPs pass through) and picks the socket family for it. */
async function resolve(host: string): Promise<{ address: string; type: 'udp4' | 'udp6' }> {
  const family = isIP(host);
  if (family !== 0) return { address: host, type: family === 6 ? 'udp6' : 'udp4' };
  const found = await lookup(host);
  return { address: found.address, type: found.family === 6 ? 'udp6' : 'udp4' };
}
