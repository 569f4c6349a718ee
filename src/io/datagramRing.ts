/**
 * A one-way queue of datagrams between two threads in shared memory: one writer, one reader, no
 * copy but the two into and out of the ring, and a message to the reader only when it went to
 * sleep. Posting each batch as a transferred buffer instead cost a fresh ArrayBuffer and a
 * message per turn of the event loop (8-10 µs each): at the loopback ceiling the main thread
 * spent a third of its time allocating them.
 *
 * Layout: a power-of-two byte ring and three Int32 counters (head, tail, sleeping). Head and tail
 * grow without bound modulo 2^32; their difference is what the reader has yet to read. A record
 * is `[local u8][hostLength u8][port u16][length u16][host, ASCII][datagram]`; a record that would
 * run past the end of the ring starts over at 0 behind a marker byte. The reader publishes its
 * tail after every record, so the writer reuses space at once.
 *
 * Waking: the reader sets `sleeping` before it returns to its event loop, then looks once more
 * for records; the writer publishes its head, then takes `sleeping` and wakes the reader if it
 * was set. With sequentially consistent atomics one of the two always sees the other, so a record
 * never waits for a wake that does not come (at worst a wake finds nothing to read).
 */

const HEAD = 0;
const TAIL = 1;
const SLEEPING = 2;
const HEADER_BYTES = 6;
/** A `local` byte no socket has: the rest of the ring up to its end is unused. */
const WRAP = 0xff;
/** Host strings encoded once and kept, up to this many (a hostile peer may send from anywhere). */
const HOST_CACHE_LIMIT = 1024;
/** Hosts a reader turns back into strings without decoding again. */
const READ_HOSTS = 16;

/** The shared memory of one ring, as posted to the other thread. */
export interface DatagramRingMemory {
  bytes: SharedArrayBuffer;
  counters: SharedArrayBuffer;
}

/** Shared memory for a ring of `capacity` bytes (rounded up to a power of two). */
export function newDatagramRing(capacity: number): DatagramRingMemory {
  let size = 1024;
  while (size < capacity) size *= 2;
  return { bytes: new SharedArrayBuffer(size), counters: new SharedArrayBuffer(3 * 4) };
}

/** The writing end; see the module comment. */
export class DatagramRingWriter {
  private readonly ring: Uint8Array;
  private readonly counters: Int32Array;
  private readonly mask: number;
  private head: number;
  private readonly hosts = new Map<string, Uint8Array>();
  /** Datagrams dropped because the reader was that far behind (the ring was full). */
  dropped = 0;

  /** `wake` tells the reader (a message to its thread) that records came while it slept. */
  constructor(
    memory: DatagramRingMemory,
    private readonly wake: () => void,
  ) {
    this.ring = new Uint8Array(memory.bytes);
    this.counters = new Int32Array(memory.counters);
    this.mask = this.ring.length - 1;
    this.head = Atomics.load(this.counters, HEAD);
  }

  /** Queues one datagram of socket `local`, to or from `host`:`port`; false when the ring is full. Call {@link publish} after. */
  write(local: number, host: string, port: number, datagram: Uint8Array): boolean {
    const hostBytes = this.encoded(host);
    const size = HEADER_BYTES + hostBytes.length + datagram.length;
    const ring = this.ring;
    let at = this.head & this.mask;
    const toEnd = ring.length - at;
    const skip = toEnd < size ? toEnd : 0;
    const used = (this.head - Atomics.load(this.counters, TAIL)) | 0;
    if (used + skip + size > ring.length) {
      this.dropped++;
      return false;
    }
    if (skip > 0) {
      ring[at] = WRAP;
      at = 0;
    }
    ring[at] = local;
    ring[at + 1] = hostBytes.length;
    ring[at + 2] = port >>> 8;
    ring[at + 3] = port & 0xff;
    ring[at + 4] = datagram.length >>> 8;
    ring[at + 5] = datagram.length & 0xff;
    ring.set(hostBytes, at + HEADER_BYTES);
    ring.set(datagram, at + HEADER_BYTES + hostBytes.length);
    this.head = (this.head + skip + size) | 0;
    return true;
  }

  /** Makes what was written visible to the reader, and wakes it if it sleeps. */
  publish(): void {
    if (Atomics.load(this.counters, HEAD) === this.head) return;
    Atomics.store(this.counters, HEAD, this.head);
    if (Atomics.exchange(this.counters, SLEEPING, 0) === 1) this.wake();
  }

  private encoded(host: string): Uint8Array {
    let bytes = this.hosts.get(host);
    if (bytes !== undefined) return bytes;
    if (this.hosts.size >= HOST_CACHE_LIMIT) this.hosts.clear();
    bytes = new Uint8Array(host.length);
    for (let i = 0; i < host.length; i++) bytes[i] = host.charCodeAt(i);
    this.hosts.set(host, bytes);
    return bytes;
  }
}

/** Receives one datagram: a view into the ring, valid only during the call. */
export type RingDatagramHandler = (local: number, host: string, port: number, datagram: Uint8Array) => void;

/** The reading end; see the module comment. */
export class DatagramRingReader {
  private readonly ring: Uint8Array;
  private readonly counters: Int32Array;
  private readonly mask: number;
  private readonly hostBytes: Uint8Array[] = [];
  private readonly hostStrings: string[] = [];
  private nextHost = 0;

  constructor(memory: DatagramRingMemory) {
    this.ring = new Uint8Array(memory.bytes);
    this.counters = new Int32Array(memory.counters);
    this.mask = this.ring.length - 1;
  }

  /**
   * Hands up to `max` datagrams to `each`; returns whether the ring is empty now. When it is, the
   * reader is marked asleep: the writer's next publish wakes it.
   */
  read(each: RingDatagramHandler, max: number): boolean {
    const { ring, counters } = this;
    let tail = Atomics.load(counters, TAIL);
    for (let n = 0; ; n++) {
      let head = Atomics.load(counters, HEAD);
      if (tail === head) {
        Atomics.store(counters, SLEEPING, 1);
        head = Atomics.load(counters, HEAD);
        if (tail === head) return true;
        Atomics.store(counters, SLEEPING, 0);
      }
      if (n === max) return false;
      let at = tail & this.mask;
      if (ring[at] === WRAP) {
        tail = (tail + ring.length - at) | 0;
        at = 0;
      }
      const hostLength = ring[at + 1];
      const port = (ring[at + 2] << 8) | ring[at + 3];
      const length = (ring[at + 4] << 8) | ring[at + 5];
      const hostAt = at + HEADER_BYTES;
      const local = ring[at];
      each(local, this.host(hostAt, hostLength), port, ring.subarray(hostAt + hostLength, hostAt + hostLength + length));
      tail = (tail + HEADER_BYTES + hostLength + length) | 0;
      Atomics.store(counters, TAIL, tail);
    }
  }

  /** The host at `ring[at ..]` as a string, decoded only when it is not one of the last few. */
  private host(at: number, length: number): string {
    const ring = this.ring;
    for (let h = 0; h < this.hostBytes.length; h++) {
      const known = this.hostBytes[h];
      if (known.length !== length) continue;
      let same = true;
      for (let i = 0; i < length && same; i++) same = known[i] === ring[at + i];
      if (same) return this.hostStrings[h];
    }
    const bytes = ring.slice(at, at + length);
    const text = String.fromCharCode(...bytes);
    const slot = this.hostBytes.length < READ_HOSTS ? this.hostBytes.length : this.nextHost++ % READ_HOSTS;
    this.hostBytes[slot] = bytes;
    this.hostStrings[slot] = text;
    return text;
  }
}
