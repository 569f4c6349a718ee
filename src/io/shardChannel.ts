/**
 * Datagrams between a relay's main thread, which reads and writes the UDP sockets, and one worker
 * thread that runs sessions (src/io/shardRouter.ts routes them): two rings in shared memory
 * (src/io/datagramRing.ts), one each way, and a small message when the other side must wake.
 *
 * {@link ChannelSockets} is the worker's end: one {@link DatagramSocket} per listening socket of
 * the main thread, for the worker's own `UdpListener`, which then runs as it would on real
 * sockets. {@link ChannelEnd} is the drain loop both ends share.
 */
import type { HostPort } from './address.ts';
import type { DatagramSocket } from './datagramSocket.ts';
import { DatagramRingReader, DatagramRingWriter, newDatagramRing, type DatagramRingMemory, type RingDatagramHandler } from './datagramRing.ts';
import { HostPortCache } from './hostPortCache.ts';
import type { DatagramHandler, DatagramSource, SocketErrorHandler } from './udpBatch.ts';

/** The shared memory of one main-worker channel, as the main thread posts it to the worker. */
export interface ChannelMemory {
  toWorker: DatagramRingMemory;
  toMain: DatagramRingMemory;
}

/**
 * Bytes of each ring: about 1,500 full-size datagrams, 15 ms at 1 Gbit/s, for a thread that is
 * busy elsewhere (a GC pause, a TCP write) before it reads again. More waits in the kernel's
 * socket buffer (main thread) or is dropped and counted (the ring is full).
 */
const RING_BYTES = 2 << 20;
/** Datagrams read per turn of the event loop before the thread gives its timers and sockets a go. */
const READ_PER_TURN = 256;

export function newChannelMemory(): ChannelMemory {
  return { toWorker: newDatagramRing(RING_BYTES), toMain: newDatagramRing(RING_BYTES) };
}

/**
 * One thread's end of a channel: writes its ring, reads the other's when woken, a bounded number
 * per turn of the event loop.
 */
export class ChannelEnd {
  readonly writer: DatagramRingWriter;
  private readonly reader: DatagramRingReader;
  private publishQueued = false;
  private readScheduled = false;

  /** `wake` posts the other thread a message that makes it call {@link read}. */
  constructor(
    outgoing: DatagramRingMemory,
    incoming: DatagramRingMemory,
    wake: () => void,
    private readonly onDatagram: RingDatagramHandler,
  ) {
    this.writer = new DatagramRingWriter(outgoing, wake);
    this.reader = new DatagramRingReader(incoming);
  }

  /** Queues a datagram; the other side hears of it at the end of this turn. */
  send(local: number, host: string, port: number, bytes: Uint8Array): void {
    this.writer.write(local, host, port, bytes);
    if (this.publishQueued) return;
    this.publishQueued = true;
    queueMicrotask(this.publishNow);
  }

  /** Makes what is queued visible now rather than at the end of this turn. */
  publish(): void {
    this.publishQueued = false;
    this.writer.publish();
  }

  /** Reads what the other side wrote (on its wake message, and once at start). */
  readonly read = (): void => {
    this.readScheduled = false;
    if (!this.reader.read(this.onDatagram, READ_PER_TURN) && !this.readScheduled) {
      this.readScheduled = true;
      setImmediate(this.read);
    }
  };

  private readonly publishNow = (): void => {
    if (this.publishQueued) this.publish();
  };
}

/** Sources remembered per worker: a session's paths come from few addresses. */
const SOURCE_CACHE_LIMIT = 1024;

/** A worker's view of its parent's listening sockets; see the module comment. */
export class ChannelSockets {
  readonly end: ChannelEnd;
  private readonly handlers: Array<DatagramHandler | undefined> = [];
  /** One object per source, as the real socket's receiver gives (the core compares by value anyway). */
  private readonly sources = new HostPortCache<DatagramSource>(SOURCE_CACHE_LIMIT, (address, port) => ({ address, port }));

  /**
   * `wakeMain` posts the main thread a message that makes it read this worker's ring; `locals`
   * are the main thread's bound addresses, in its socket order, and `batched` whether its sockets
   * send and receive in batches (what the worker's log says of them).
   */
  constructor(
    memory: ChannelMemory,
    wakeMain: () => void,
    private readonly locals: readonly HostPort[],
    private readonly batched: boolean,
  ) {
    this.end = new ChannelEnd(memory.toMain, memory.toWorker, wakeMain, this.deliver);
  }

  /** The socket of `locals[index]`, as `UdpListener`'s `bind` option wants it. */
  bind = (_addr: HostPort, index: number): Promise<DatagramSocket> => {
    const local = this.locals[index];
    if (local === undefined) return Promise.reject(new Error(`no listening socket #${index} in the main thread`));
    const { handlers, end, batched } = this;
    return Promise.resolve({
      local,
      batched,
      receive(onDatagram: DatagramHandler, _onError?: SocketErrorHandler): void {
        handlers[index] = onDatagram;
      },
      sendTo(bytes: Uint8Array, port: number, address: string): void {
        end.send(index, address, port, bytes);
      },
      close(): Promise<void> {
        handlers[index] = undefined;
        end.publish();
        return Promise.resolve();
      },
    });
  };

  /**
   * Hands one datagram from the main thread to its socket's handler, lent where it lies in the
   * ring (the ring's space is freed only after the handler returns), as a socket lends its arena.
   */
  private readonly deliver = (local: number, host: string, port: number, bytes: Uint8Array): void => {
    this.handlers[local]?.(bytes, this.sources.get(host, port));
  };
}
