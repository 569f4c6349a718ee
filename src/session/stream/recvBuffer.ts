import { RangeSet } from '../rangeSet.ts';
import { PIECE_OVERHEAD_BYTES } from './limits.ts';

/** The smallest block a stream copies arriving data into: one full-size frame. */
const MIN_BLOCK_BYTES = 2048;
/**
 * Blocks double while they fill up to this; once the reader empties one, the next is sized to
 * what it took: a stream that receives a lot copies into few buffers (one allocation per ~48
 * full-size frames), one that receives little never holds much it does not use.
 */
const MAX_BLOCK_BYTES = 64 * 1024;

/**
 * The receiving half of a stream: arriving bytes are copied, in arrival order, into blocks of
 * the stream's own, and held there as pieces (views) until the application reads them in order.
 * The datagram they came in is then free again the moment it has been handled: a socket can
 * read into one arena for ever instead of giving each datagram a buffer of its own, which cost
 * more than the copy (an ArrayBuffer of 1.3 KB is ~3 us with the garbage collector's share, a
 * copy of it ~0.1). Bytes that follow the piece before them in the block extend that piece, so
 * in-order data is read in large views.
 *
 * Duplicate and overlapping bytes are trimmed on arrival, so every byte is delivered exactly once.
 * {@link held} is what the stream keeps alive, for the session's limits: every block still
 * backing a piece (or still being filled), whole, plus a tracking cost per piece. A peer that
 * leaves one piece in each block pays for the whole block.
 */
export class RecvBuffer {
  /** Pieces keyed by their start offset; together they never overlap. */
  private readonly pieces = new Map<number, Uint8Array>();
  /** How many pieces each block backs (keyed by its ArrayBuffer). */
  private readonly blockPieces = new Map<ArrayBufferLike, number>();
  private readonly have = new RangeSet();
  /** The block being filled, and how much of it is. */
  private block: Uint8Array | null = null;
  private blockUsed = 0;
  private blockBytes = MIN_BLOCK_BYTES;
  /** Start offset of the piece that ends where the block's free space begins; -1: none. */
  private tailPiece = -1;
  /** Offset of the next byte the application will read. */
  readOffset = 0;
  /** Highest offset + 1 seen in any frame (what flow control counts). */
  highestOffset = 0;
  /** Final size once the FIN arrived. */
  finalSize = -1;
  /** The application has been told the stream ended. */
  finDelivered = false;
  /** Memory charged for what the stream keeps alive (see the class comment). */
  held = 0;

  /** Bytes received and not yet read. */
  get buffered(): number {
    return this.have.size();
  }

  /** Pieces held. */
  get pieceCount(): number {
    return this.pieces.size;
  }

  /** Disjoint ranges of received, unread bytes (one more than the gaps between them). */
  get rangeCount(): number {
    return this.have.rangeCount;
  }

  get isReadable(): boolean {
    return this.have.min === this.readOffset || (this.finalSize === this.readOffset && !this.finDelivered);
  }

  /**
   * Stores a frame's data. Returns the number of bytes it raised `highestOffset` by (for session
   * flow control), or -1 if it contradicts an earlier final size.
   */
  insert(offset: number, data: Uint8Array, fin: boolean): number {
    const end = offset + data.length;
    if (fin) {
      if (this.finalSize >= 0 && this.finalSize !== end) return -1;
      if (end < this.highestOffset) return -1;
      this.finalSize = end;
    } else if (this.finalSize >= 0 && end > this.finalSize) {
      return -1;
    }
    const growth = Math.max(0, end - this.highestOffset);
    this.highestOffset = Math.max(this.highestOffset, end);
    const start = Math.max(offset, this.readOffset);
    if (start < end) {
      this.have.forEachGap(start, end, (s, e) => this.store(s, data.subarray(s - offset, e - offset)));
      this.have.add(start, end);
    }
    return growth;
  }

  /** Copies `bytes`, the stream's bytes from offset `at` on, into the block. */
  private store(at: number, bytes: Uint8Array): void {
    const n = bytes.length;
    if (this.block === null || this.block.length - this.blockUsed < n) this.startBlock(n);
    const block = this.block!;
    const from = this.blockUsed;
    block.set(bytes, from);
    this.blockUsed = from + n;
    const tail = this.tailPiece >= 0 ? this.pieces.get(this.tailPiece) : undefined;
    if (tail !== undefined && this.tailPiece + tail.length === at && tail.buffer === block.buffer && tail.byteOffset + tail.length === block.byteOffset + from) {
      this.pieces.set(this.tailPiece, block.subarray(tail.byteOffset - block.byteOffset, from + n));
      return;
    }
    this.pieces.set(at, block.subarray(from, from + n));
    this.tailPiece = at;
    this.blockPieces.set(block.buffer, (this.blockPieces.get(block.buffer) ?? 0) + 1);
    this.held += PIECE_OVERHEAD_BYTES;
  }

  /** A block that fits `atLeast` in place of the one being filled, which has no room. */
  private startBlock(atLeast: number): void {
    if (this.block !== null) {
      this.blockBytes = Math.min(MAX_BLOCK_BYTES, this.blockBytes * 2);
      this.retireBlock();
    }
    const size = Math.max(atLeast, this.blockBytes);
    // Not zeroed: only bytes copied in are ever read.
    this.block = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer);
    this.blockUsed = 0;
    this.tailPiece = -1;
    this.blockPieces.set(this.block.buffer, 0);
    this.held += size;
  }

  /** Stops filling the block; it is freed at once if it backs no piece. */
  private retireBlock(): void {
    const block = this.block!;
    if (this.blockPieces.get(block.buffer) === 0) this.releaseBlock(block.buffer);
    this.block = null;
    this.tailPiece = -1;
  }

  private releaseBlock(buffer: ArrayBufferLike): void {
    this.blockPieces.delete(buffer);
    this.held -= buffer.byteLength;
  }

  /** A piece left the buffer. */
  private dropPiece(piece: Uint8Array): void {
    const left = this.blockPieces.get(piece.buffer)! - 1;
    this.held -= PIECE_OVERHEAD_BYTES;
    if (left === 0 && piece.buffer !== this.block?.buffer) this.releaseBlock(piece.buffer);
    else this.blockPieces.set(piece.buffer, left);
  }

  /** Next in-order bytes (at most `maxBytes`), 'fin' once at the end, or null. */
  read(maxBytes: number): Uint8Array | 'fin' | null {
    const piece = this.pieces.get(this.readOffset);
    if (piece === undefined) {
      if (this.finalSize === this.readOffset && !this.finDelivered) {
        this.finDelivered = true;
        return 'fin';
      }
      return null;
    }
    this.pieces.delete(this.readOffset);
    let out = piece;
    if (piece.length > maxBytes) {
      // The rest stays a piece of the same block: the block's count does not change.
      out = piece.subarray(0, maxBytes);
      this.pieces.set(this.readOffset + maxBytes, piece.subarray(maxBytes));
      if (this.tailPiece === this.readOffset) this.tailPiece += maxBytes;
    } else {
      this.dropPiece(piece);
      // Read dry: nothing backs the block any more, and an idle stream should hold nothing. The
      // next block is sized to what this one took before its reader caught up (a stream among
      // eight gets ~10 KiB per receive batch at the loopback ceiling, not a 64 KiB block's worth).
      if (this.pieces.size === 0 && this.block !== null) {
        this.blockBytes = Math.min(MAX_BLOCK_BYTES, Math.max(MIN_BLOCK_BYTES, 2 ** Math.ceil(Math.log2(this.blockUsed || 1))));
        this.retireBlock();
      }
    }
    this.have.remove(this.readOffset, this.readOffset + out.length);
    this.readOffset += out.length;
    return out;
  }

  discard(): void {
    this.pieces.clear();
    this.blockPieces.clear();
    this.have.clear();
    this.held = 0;
    this.block = null;
    this.blockUsed = 0;
    this.tailPiece = -1;
  }
}
