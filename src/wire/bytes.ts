/**
 * Big-endian cursors over a byte buffer, the building blocks of every codec in `src/wire`.
 * Integers are network byte order; varints are QUIC variable-length integers (RFC 9000 §16).
 * Neither class allocates on read or write except `ByteReader.bytes`, which returns a view.
 */
import { WireError } from './errors.ts';

/** Largest value a varint carries in this implementation: 2^53-1, the largest exact JS integer. */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;

/** Largest value of a 48-bit field (packet numbers, timestamps). */
export const MAX_U48 = 2 ** 48 - 1;

const TWO_32 = 2 ** 32;

/**
 * Bytes a QUIC varint needs for `v` (RFC 9000 §16): 1 below 2^6, 2 below 2^14, 4 below 2^30,
 * 8 otherwise. O(1). Use it to size frames before writing them. Throws WireError('bad-value')
 * for anything that is not an integer in [0, 2^53-1].
 */
export function varintLength(v: number): number {
  if (v < 0x40 && v >= 0 && (v | 0) === v) return 1;
  if (v < 0x4000 && v >= 0 && (v | 0) === v) return 2;
  if (v < 0x40000000 && v >= 0 && (v | 0) === v) return 4;
  if (!Number.isSafeInteger(v) || v < 0) throw new WireError('bad-value', `not a varint: ${v}`);
  return 8;
}

/**
 * Reads fields from `buf[pos, end)`. Every read past `end` throws WireError('truncated') and
 * leaves `pos` unchanged. Construct one per datagram (or per frame region); O(1) per field.
 */
export class ByteReader {
  /** Offset of the next byte to read; may be moved by the caller to skip. */
  pos: number;
  /** Exclusive end of the readable region. */
  readonly end: number;

  constructor(
    readonly buf: Uint8Array,
    pos = 0,
    end = buf.length,
  ) {
    if (!(pos >= 0 && pos <= end && end <= buf.length)) {
      throw new WireError('bad-length', `bad region [${pos}, ${end}) of ${buf.length} bytes`);
    }
    this.pos = pos;
    this.end = end;
  }

  /** Bytes left before `end`. */
  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): number {
    const at = this.pos;
    if (this.end - at < n) throw new WireError('truncated', `need ${n} bytes, have ${this.end - at}`);
    this.pos = at + n;
    return at;
  }

  /** One byte. */
  u8(): number {
    return this.buf[this.need(1)];
  }

  /** Big-endian unsigned 16-bit integer. */
  u16(): number {
    const b = this.buf;
    const i = this.need(2);
    return (b[i] << 8) | b[i + 1];
  }

  /** Big-endian unsigned 32-bit integer (session ids). */
  u32(): number {
    const b = this.buf;
    const i = this.need(4);
    return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
  }

  /** Big-endian unsigned 48-bit integer (packet numbers, timestamps), exact in a JS number. */
  u48(): number {
    const b = this.buf;
    const i = this.need(6);
    const hi = (b[i] << 8) | b[i + 1];
    const lo = ((b[i + 2] << 24) | (b[i + 3] << 16) | (b[i + 4] << 8) | b[i + 5]) >>> 0;
    return hi * TWO_32 + lo;
  }

  /**
   * A QUIC varint (RFC 9000 §16). Non-minimal encodings are accepted, as the RFC allows.
   * Throws WireError('bad-varint') for 8-byte values above 2^53-1, which a JS number cannot hold
   * exactly; every field of this protocol stays far below that.
   */
  varint(): number {
    const b = this.buf;
    const first = this.pos < this.end ? b[this.pos] : 0;
    const len = 1 << (first >> 6);
    const i = this.need(len);
    if (len === 1) return first;
    if (len === 2) return ((first & 0x3f) << 8) | b[i + 1];
    const hi = (((first & 0x3f) << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
    if (len === 4) return hi;
    if (hi > 0x1fffff) {
      this.pos = i;
      throw new WireError('bad-varint', 'varint above 2^53-1');
    }
    const lo = ((b[i + 4] << 24) | (b[i + 5] << 16) | (b[i + 6] << 8) | b[i + 7]) >>> 0;
    return hi * TWO_32 + lo;
  }

  /** The next `n` bytes as a subarray view of `buf` (no copy): valid as long as `buf` is. */
  bytes(n: number): Uint8Array {
    if (!(n >= 0)) throw new WireError('bad-length', `negative length ${n}`);
    const i = this.need(n);
    return this.buf.subarray(i, i + n);
  }
}

/**
 * Writes fields into `buf` from `pos`. A write that would pass the end of `buf` throws
 * WireError('overflow') and writes nothing; a value outside its field's range throws
 * WireError('bad-value'). O(1) per field, no allocation.
 */
export class ByteWriter {
  /** Offset of the next byte to write; `buf.subarray(start, pos)` is what was written. */
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    pos = 0,
  ) {
    if (!(pos >= 0 && pos <= buf.length)) {
      throw new WireError('bad-length', `bad start ${pos} of ${buf.length} bytes`);
    }
    this.pos = pos;
  }

  /** Bytes left before the end of `buf`. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private room(n: number): number {
    const at = this.pos;
    if (this.buf.length - at < n) {
      throw new WireError('overflow', `need ${n} bytes, have ${this.buf.length - at}`);
    }
    this.pos = at + n;
    return at;
  }

  /** One byte; `v` must be an integer in [0, 255]. */
  u8(v: number): void {
    if ((v & 0xff) !== v) throw new WireError('bad-value', `not a u8: ${v}`);
    this.buf[this.room(1)] = v;
  }

  /** Big-endian 16-bit; `v` must be an integer in [0, 2^16-1]. */
  u16(v: number): void {
    if ((v & 0xffff) !== v) throw new WireError('bad-value', `not a u16: ${v}`);
    const b = this.buf;
    const i = this.room(2);
    b[i] = v >>> 8;
    b[i + 1] = v;
  }

  /** Big-endian 32-bit; `v` must be an integer in [0, 2^32-1]. */
  u32(v: number): void {
    if (v >>> 0 !== v) throw new WireError('bad-value', `not a u32: ${v}`);
    const b = this.buf;
    const i = this.room(4);
    b[i] = v >>> 24;
    b[i + 1] = v >>> 16;
    b[i + 2] = v >>> 8;
    b[i + 3] = v;
  }

  /** Big-endian 48-bit; `v` must be an integer in [0, 2^48-1]. */
  u48(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > MAX_U48) {
      throw new WireError('bad-value', `not a u48: ${v}`);
    }
    const b = this.buf;
    const i = this.room(6);
    const hi = Math.floor(v / TWO_32);
    b[i] = hi >>> 8;
    b[i + 1] = hi;
    b[i + 2] = v >>> 24;
    b[i + 3] = v >>> 16;
    b[i + 4] = v >>> 8;
    b[i + 5] = v;
  }

  /** A QUIC varint (RFC 9000 §16) in its shortest form; `v` must be an integer in [0, 2^53-1]. */
  varint(v: number): void {
    const len = varintLength(v);
    const b = this.buf;
    const i = this.room(len);
    if (len === 1) {
      b[i] = v;
    } else if (len === 2) {
      b[i] = 0x40 | (v >>> 8);
      b[i + 1] = v;
    } else if (len === 4) {
      b[i] = 0x80 | (v >>> 24);
      b[i + 1] = v >>> 16;
      b[i + 2] = v >>> 8;
      b[i + 3] = v;
    } else {
      const hi = Math.floor(v / TWO_32);
      b[i] = 0xc0 | (hi >>> 24);
      b[i + 1] = hi >>> 16;
      b[i + 2] = hi >>> 8;
      b[i + 3] = hi;
      b[i + 4] = v >>> 24;
      b[i + 5] = v >>> 16;
      b[i + 6] = v >>> 8;
      b[i + 7] = v;
    }
  }

  /** Copies `src` in (one memcpy). */
  bytes(src: Uint8Array): void {
    this.buf.set(src, this.room(src.length));
  }

  /** Writes `n` zero bytes (PADDING); needed because packet buffers come from allocUnsafe. */
  zeros(n: number): void {
    if (!(n >= 0 && Number.isInteger(n))) throw new WireError('bad-value', `bad count ${n}`);
    const i = this.room(n);
    this.buf.fill(0, i, i + n);
  }
}
