/**
 * Batched sends on a UDP socket: the datagrams one turn of the event loop produces for a socket
 * leave in one `sendmmsg` call, and runs of full-sized ones to one address as GSO sends, through
 * the project's small native module (native/udpbatch.c). Node's dgram costs a system call per
 * datagram, which was the biggest single cost of a sending relay (see the module's header).
 *
 * Datagrams are copied into an arena as they are queued, so the caller's buffer is free at once
 * (as with dgram, which copies into the kernel before its callback). The arena goes out in a
 * microtask after the current callback, i.e. after the session loop's flush that produced it: no
 * datagram waits for a timer. Receiving stays with dgram.
 *
 * Without the module (another platform, or BERING_UDP_BATCH=0) {@link loadUdpBatch} returns null
 * and sockets send through dgram as before.
 */
import { createRequire } from 'node:module';
import type dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';

/** The native module's functions (native/udpbatch.c documents them). */
export interface UdpBatchNative {
  sendBatch(fd: number, arena: Uint8Array, spans: Int32Array, count: number, slots: Uint8Array, gso: boolean, result: Int32Array): void;
  encodeAddress(address: string, port: number, family: 4 | 6, out: Uint8Array): boolean;
}

/** Layout shared with native/udpbatch.c. */
const SPAN_INTS = 3;
const ADDRESS_SLOT_BYTES = 32;
const RESULT_DONE = 0;
const RESULT_FAILED = 1;
const RESULT_GSO_REFUSED = 3;

/** Datagrams per batch; one flush of a busy session rarely makes more for one socket. */
const MAX_DATAGRAMS = 256;
/** Arena bytes per batch: MAX_DATAGRAMS at the largest datagram a 1500-byte MTU carries. */
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

/** The file descriptor under a bound dgram socket, or null where Node does not expose one. */
export function socketFd(socket: dgram.Socket): number | null {
  // dgram keeps its handle under a private symbol; `socket._handle` would warn (DEP0112).
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const handle = state === undefined ? undefined : (socket as unknown as Record<symbol, { handle?: { fd?: number } }>)[state]?.handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/** Where a batch's leftovers go when the kernel's buffer is full: dgram, which queues them. */
export type OverflowSend = (bytes: Uint8Array, port?: number, address?: string) => void;

/** What a batch sender counts. */
export interface BatchCounters {
  /** Datagrams the kernel refused for reasons of their own (unreachable, too big). */
  failed: number;
  /** Datagrams handed to dgram because the socket's buffer was full. */
  overflowed: number;
}

/** Queues datagrams for one socket and sends them in batches; see the module comment. */
export class BatchSender implements BatchCounters {
  failed = 0;
  overflowed = 0;
  private readonly arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
  private readonly spans = new Int32Array(MAX_DATAGRAMS * SPAN_INTS);
  private readonly slots = new Uint8Array(MAX_DESTINATIONS * ADDRESS_SLOT_BYTES);
  private readonly result = new Int32Array(4);
  /** Encoded addresses by address and port; null marks one that cannot be sent to. */
  private readonly addresses = new Map<string, Map<number, Uint8Array | null>>();
  private addressCount = 0;
  /** Encoded addresses in this batch's slots, by slot. */
  private readonly slotAddress: Array<Uint8Array | null> = [];
  /** Ports and addresses of this batch's slots, for the overflow path. */
  private readonly slotPort: number[] = [];
  private readonly slotHost: string[] = [];
  private count = 0;
  private used = 0;
  private scheduled = false;
  private gso = true;

  constructor(
    private readonly native: UdpBatchNative,
    private readonly fd: number,
    private readonly family: 4 | 6,
    private readonly overflow: OverflowSend,
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
    if (bytes.length > ARENA_BYTES) {
      this.overflowed++;
      this.overflow(bytes, port, address);
      return true;
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
      this.failed += this.result[RESULT_FAILED];
      if (this.result[RESULT_GSO_REFUSED] === 1) {
        // A device or kernel without UDP GSO: plain batches from here on.
        this.gso = false;
        continue;
      }
      if (done < count) {
        this.spill(done, count);
        break;
      }
    }
    this.count = 0;
    this.used = 0;
    this.slotAddress.length = 0;
    this.slotPort.length = 0;
    this.slotHost.length = 0;
  }

  private readonly flushQueued = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /** The kernel's buffer is full: dgram queues the rest (copied, as the arena is reused). */
  private spill(from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const span = i * SPAN_INTS;
      const bytes = Buffer.from(this.arena.subarray(this.spans[span], this.spans[span] + this.spans[span + 1]));
      const slot = this.spans[span + 2];
      this.overflowed++;
      if (slot < 0) this.overflow(bytes);
      else this.overflow(bytes, this.slotPort[slot], this.slotHost[slot]);
    }
  }

  /** This batch's slot for a destination (filling one if new), or -2 if it cannot be sent to. */
  private slotFor(address: string, port: number): number {
    const encoded = this.encoded(address, port);
    if (encoded === null) return -2;
    const slots = this.slotAddress;
    for (let i = slots.length - 1; i >= 0; i--) if (slots[i] === encoded) return i;
    if (slots.length === MAX_DESTINATIONS) {
      this.flush();
    }
    const slot = slots.length;
    slots.push(encoded);
    this.slotPort.push(port);
    this.slotHost.push(address);
    this.slots.set(encoded, slot * ADDRESS_SLOT_BYTES);
    return slot;
  }

  private encoded(address: string, port: number): Uint8Array | null {
    let byPort = this.addresses.get(address);
    const known = byPort?.get(port);
    if (known !== undefined) return known;
    if (this.addressCount >= ADDRESS_CACHE_LIMIT) {
      // Peers that keep changing ports (NAT rebinding, a hostile peer) must not grow this forever.
      this.addresses.clear();
      this.addressCount = 0;
      byPort = undefined;
    }
    const out = new Uint8Array(ADDRESS_SLOT_BYTES);
    const value = this.native.encodeAddress(address, port, this.family, out) ? out : null;
    if (byPort === undefined) {
      byPort = new Map();
      this.addresses.set(address, byPort);
    }
    byPort.set(port, value);
    this.addressCount++;
    return value;
  }
}
