/**
 * Batched I/O on a UDP socket through the project's small native module (native/udpbatch.c):
 * Node's dgram costs a system call per datagram each way, which was the biggest single cost of a
 * sending relay (see the module's header), plus, receiving, an allocation and a JS event per
 * datagram.
 *
 * Sending ({@link BatchSender}): the datagrams one turn of the event loop produces for a socket
 * leave in one `sendmmsg` call, and runs of full-sized ones to one address as GSO sends.
 * Datagrams are copied into an arena as they are queued, so the caller's buffer is free at once
 * (as with dgram, which copies into the kernel before its callback). The arena goes out in a
 * microtask after the current callback, i.e. after the session loop's flush that produced it: no
 * datagram waits for a timer.
 *
 * Receiving ({@link BatchReceiver}): up to a batch of datagrams per `recvmmsg`, one JS call per
 * batch, each datagram copied out of the arena into an ArrayBuffer of its own (what dgram gives).
 *
 * Without the module (another platform, or BERING_UDP_BATCH=0) {@link loadUdpBatch} returns null
 * and sockets use dgram as before.
 */
import { createRequire } from 'node:module';
import type dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { HostPortCache } from './hostPortCache.ts';

/** The native module's functions (native/udpbatch.c documents them). */
export interface UdpBatchNative {
  sendBatch(fd: number, arena: Uint8Array, spans: Int32Array, count: number, slots: Uint8Array, gso: boolean, result: Int32Array): void;
  encodeAddress(address: string, port: number, family: 4 | 6, out: Uint8Array): boolean;
  startReceiving(fd: number, arena: Uint8Array, meta: Int32Array, addresses: Uint8Array, onBatch: (count: number) => void): unknown;
  stopReceiving(handle: unknown): void;
  formatAddress(addresses: Uint8Array, slot: number): string;
}

/** Layout shared with native/udpbatch.c. */
const SPAN_INTS = 3;
const ADDRESS_SLOT_BYTES = 32;
const RESULT_DONE = 0;
const RESULT_FAILED = 1;
const RESULT_ERRNO = 2;
const RESULT_GSO_REFUSED = 3;

/** Datagrams per batch; one flush of a busy session rarely makes more for one socket. */
const MAX_DATAGRAMS = 256;
/** Arena bytes per batch: MAX_DATAGRAMS at the largest datagram a 1500-byte MTU carries (bering's are at most 1452). */
const ARENA_BYTES = MAX_DATAGRAMS * 1500;
/** Distinct destinations in one batch (a listener socket serves every session's paths on it). */
const MAX_DESTINATIONS = 64;
/** Destinations whose encoded address is kept, per socket; beyond it the cache starts over. */
const ADDRESS_CACHE_LIMIT = 4096;

let loaded: UdpBatchNative | null | undefined;

/**
 * The native module for this platform, or null when it is missing, fails to load or is turned off
 * with BERING_UDP_BATCH=0. Looked up once per process.
 */
export function loadUdpBatch(): UdpBatchNative | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.BERING_UDP_BATCH === '0') return null;
  const file = fileURLToPath(new URL(`../../native/udpbatch-${process.platform}-${process.arch}.node`, import.meta.url));
  try {
    loaded = createRequire(import.meta.url)(file) as UdpBatchNative;
  } catch {
    // Not built for this platform (native/build.sh builds it): dgram's sends still work.
  }
  return loaded;
}

/** What of dgram's private handle this module uses. */
interface DgramHandle {
  fd?: number;
  recvStop?: () => number;
}

function dgramHandle(socket: dgram.Socket): DgramHandle | undefined {
  // dgram keeps its handle under a private symbol; `socket._handle` would warn (DEP0112).
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  return state === undefined ? undefined : (socket as unknown as Record<symbol, { handle?: DgramHandle }>)[state]?.handle;
}

/** The file descriptor under a bound dgram socket, or null where Node does not expose one. */
export function socketFd(socket: dgram.Socket): number | null {
  const fd = dgramHandle(socket)?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/** Queues datagrams for one socket and sends them in batches; see the module comment. */
export class BatchSender {
  /** Datagrams the kernel refused for reasons of their own (unreachable, too big). */
  failed = 0;
  /**
   * Datagrams dropped because the socket's send buffer was full. They are not handed to dgram:
   * its queue would make libuv watch the descriptor for writes, and the poll that reads it is
   * the only watcher libuv allows on it. The kernel drops the same way when a queue is full, and
   * the protocol repairs or resends what was lost.
   */
  dropped = 0;
  private readonly arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
  private readonly spans = new Int32Array(MAX_DATAGRAMS * SPAN_INTS);
  private readonly slots = new Uint8Array(MAX_DESTINATIONS * ADDRESS_SLOT_BYTES);
  private readonly result = new Int32Array(4);
  /** Encoded addresses by address and port; null marks one that cannot be sent to. */
  private readonly addresses = new HostPortCache<Uint8Array | null>(ADDRESS_CACHE_LIMIT, (address, port) => this.encodeAddress(address, port));
  /** Encoded addresses in this batch's slots, by slot. */
  private readonly slotAddress: Array<Uint8Array | null> = [];
  private count = 0;
  private used = 0;
  private scheduled = false;
  private gso = true;

  constructor(
    private readonly native: UdpBatchNative,
    private readonly fd: number,
    private readonly family: 4 | 6,
    /** Hears the error code of datagrams the kernel refused (ECONNREFUSED: the peer's port is closed). */
    private readonly onFailure: SocketErrorHandler = () => {},
  ) {}

  /** Datagrams queued and not yet sent. */
  get pending(): number {
    return this.count;
  }

  /**
   * Queues `bytes` for the connected peer (no `address`) or for `address`/`port`. Returns false,
   * queuing nothing, for an address this socket cannot send to.
   */
  queue(bytes: Uint8Array, port?: number, address?: string): boolean {
    let slot = -1;
    if (address !== undefined && port !== undefined) {
      slot = this.slotFor(address, port);
      if (slot === -2) return false;
    }
    if (this.count === MAX_DATAGRAMS || this.used + bytes.length > ARENA_BYTES) {
      this.flush();
      if (slot >= 0) slot = this.slotFor(address as string, port as number);
    }
    this.arena.set(bytes, this.used);
    const span = this.count * SPAN_INTS;
    this.spans[span] = this.used;
    this.spans[span + 1] = bytes.length;
    this.spans[span + 2] = slot;
    this.used += bytes.length;
    this.count++;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushQueued);
    }
    return true;
  }

  /** Sends everything queued now. */
  flush(): void {
    const count = this.count;
    if (count === 0) return;
    let done = 0;
    while (done < count) {
      this.native.sendBatch(this.fd, this.arena, done === 0 ? this.spans : this.spans.subarray(done * SPAN_INTS), count - done, this.slots, this.gso, this.result);
      done += this.result[RESULT_DONE];
      if (this.result[RESULT_FAILED] > 0) {
        this.failed += this.result[RESULT_FAILED];
        this.onFailure(getSystemErrorName(-this.result[RESULT_ERRNO]));
      }
      if (this.result[RESULT_GSO_REFUSED] === 1) {
        // A device or kernel without UDP GSO: plain batches from here on.
        this.gso = false;
        continue;
      }
      if (done < count) {
        this.dropped += count - done;
        break;
      }
    }
    this.count = 0;
    this.used = 0;
    this.slotAddress.length = 0;
  }

  private readonly flushQueued = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /** This batch's slot for a destination (filling one if new), or -2 if it cannot be sent to. */
  private slotFor(address: string, port: number): number {
    const encoded = this.addresses.get(address, port);
    if (encoded === null) return -2;
    const slots = this.slotAddress;
    for (let i = slots.length - 1; i >= 0; i--) if (slots[i] === encoded) return i;
    if (slots.length === MAX_DESTINATIONS) {
      this.flush();
    }
    const slot = slots.length;
    slots.push(encoded);
    this.slots.set(encoded, slot * ADDRESS_SLOT_BYTES);
    return slot;
  }

  /** `address`:`port` in the native layout, or null when this socket's family cannot send there. */
  private encodeAddress(address: string, port: number): Uint8Array | null {
    const out = new Uint8Array(ADDRESS_SLOT_BYTES);
    return this.native.encodeAddress(address, port, this.family, out) ? out : null;
  }
}

/** Datagrams per receive batch. */
const RECEIVE_DATAGRAMS = 64;
/** Layout shared with native/udpbatch.c. */
const RECEIVE_SLOT_BYTES = 2048;
const RECEIVE_META_INTS = 3;
/** Sources remembered with the object handed out for them: a socket hears from few peers. */
const SOURCE_CACHE = 16;

/** Where a datagram came from (the shape of dgram's `rinfo` that the drivers use). */
export interface DatagramSource {
  readonly address: string;
  readonly port: number;
}

/**
 * Receives one datagram. `bytes` is lent for the call: the next batch is read into the same
 * memory, so the handler copies what it keeps (the session core does, see
 * `Session.handleDatagram`).
 */
export type DatagramHandler = (bytes: Uint8Array, from: DatagramSource) => void;
/** Hears of a socket error (its code, e.g. ECONNREFUSED), as dgram's 'error' event would tell it. */
export type SocketErrorHandler = (code: string) => void;

/** Reads a socket's datagrams in batches; see the module comment. */
export class BatchReceiver {
  /** Datagrams longer than a slot, dropped: bering never sends one, so they are not from a peer. */
  truncated = 0;
  private readonly arena = new Uint8Array(RECEIVE_DATAGRAMS * RECEIVE_SLOT_BYTES);
  private readonly meta = new Int32Array(RECEIVE_DATAGRAMS * RECEIVE_META_INTS);
  private readonly addresses = new Uint8Array(RECEIVE_DATAGRAMS * ADDRESS_SLOT_BYTES);
  /** The same bytes as ints, to compare a source with the cache's in six reads. */
  private readonly addressInts = new Int32Array(this.addresses.buffer);
  private readonly sourceKeys = new Int32Array(SOURCE_CACHE * 6);
  private readonly sources: DatagramSource[] = [];
  private nextSource = 0;
  private handle: unknown;

  /**
   * Takes over reading `socket` (dgram's reader is stopped; the socket stays dgram's to close,
   * after {@link stop}).
   */
  constructor(
    private readonly native: UdpBatchNative,
    socket: dgram.Socket,
    private readonly onDatagram: DatagramHandler,
    private readonly onError: SocketErrorHandler,
  ) {
    const handle = dgramHandle(socket);
    const fd = socketFd(socket);
    if (fd === null || handle?.recvStop === undefined) throw new Error('socket has no descriptor to read');
    handle.recvStop();
    this.handle = native.startReceiving(fd, this.arena, this.meta, this.addresses, this.onBatch);
  }

  /** Stops reading; call before the socket closes. */
  stop(): void {
    if (this.handle === null) return;
    this.native.stopReceiving(this.handle);
    this.handle = null;
  }

  private readonly onBatch = (count: number): void => {
    if (count < 0) {
      this.onError(getSystemErrorName(count));
      return;
    }
    const { arena, meta } = this;
    for (let i = 0; i < count && this.handle !== null; i++) {
      const length = meta[i * RECEIVE_META_INTS];
      if (length < 0) {
        this.truncated++;
        continue;
      }
      const offset = i * RECEIVE_SLOT_BYTES;
      this.onDatagram(arena.subarray(offset, offset + length), this.source(i));
    }
  };

  /** The source of datagram `i`, as the same object as last time it was seen. */
  private source(i: number): DatagramSource {
    const a = this.addressInts;
    const at = i * (ADDRESS_SLOT_BYTES / 4);
    const keys = this.sourceKeys;
    for (let c = 0; c < this.sources.length; c++) {
      const k = c * 6;
      if (keys[k] === a[at] && keys[k + 1] === a[at + 1] && keys[k + 2] === a[at + 2] && keys[k + 3] === a[at + 3] && keys[k + 4] === a[at + 4] && keys[k + 5] === a[at + 5]) {
        return this.sources[c];
      }
    }
    const c = this.sources.length < SOURCE_CACHE ? this.sources.length : this.nextSource++ % SOURCE_CACHE;
    keys.set(a.subarray(at, at + 6), c * 6);
    const source = { address: this.native.formatAddress(this.addresses, i), port: this.meta[i * RECEIVE_META_INTS + 1] };
    this.sources[c] = source;
    return source;
  }
}
