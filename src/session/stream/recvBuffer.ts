import { RangeSet } from '../rangeSet.ts';
import { PIECE_OVERHEAD_BYTES } from './limits.ts';

/** A piece under 1/8 of the buffer behind it is copied out rather than pinning the buffer. */
const COPY_BELOW_SHARE = 8;
/**
 * Copied pieces that follow one another grow one copy up to this size: a run of tiny frames
 * then costs one object per KiB, not one per frame (each with its own buffer for the GC).
 */
const MERGE_UP_TO = 1024;

/**
 * What holding `piece` costs: its bytes, or all of the buffer it keeps alive, plus tracking.
 * Pure in the piece, so adding and removing it charge the same.
 */
function charge(piece: Uint8Array): number {
  return piece.buffer.byteLength + PIECE_OVERHEAD_BYTES;
}

/**
 * The receiving half of a stream: out-of-order pieces held as views of the decrypted packets
 * (no copy) until the application reads them in order. Duplicate and overlapping bytes are
 * trimmed on arrival, so every byte is delivered exactly once. A piece under an eighth of the
 * buffer behind it is copied out, so a 1-byte frame cannot keep a whole datagram alive; {@link held}
 * counts what the pieces cost, buffers and tracking included, for the session's limits.
 */
export class RecvBuffer {
  /** Pieces keyed by their start offset; together they never overlap. */
  private readonly pieces = new Map<number, Uint8Array>();
  private readonly have = new RangeSet();
  /** Offset of the next byte the application will read. */
  readOffset = 0;
  /** Highest offset + 1 seen in any frame (what flow control counts). */
  highestOffset = 0;
  /** Final size once the FIN arrived. */
  finalSize = -1;
  /** The application has been told the stream ended. */
  finDelivered = false;
  /** Memory charged for the pieces held (see `charge`). */
  held = 0;
  /** Start of the last piece copied out, which the next small piece may extend; -1: none. */
  private copyStart = -1;

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
      this.have.forEachGap(start, end, (s, e) => {
        let piece = data.subarray(s - offset, e - offset);
        // Only a small piece is copied out (a copy, not Buffer#slice, which is a view): a larger
        // one is charged its whole buffer instead, so full and shared packets cost no copy.
        if (COPY_BELOW_SHARE * piece.length < piece.buffer.byteLength) {
          const prev = this.copyStart >= 0 ? this.pieces.get(this.copyStart) : undefined;
          if (prev !== undefined && this.copyStart + prev.length === s && prev.length + piece.length <= MERGE_UP_TO) {
            const merged = new Uint8Array(prev.length + piece.length);
            merged.set(prev);
            merged.set(piece, prev.length);
            this.pieces.set(this.copyStart, merged);
            this.held += charge(merged) - charge(prev);
            return;
          }
          piece = new Uint8Array(piece);
          this.copyStart = s;
        }
        this.pieces.set(s, piece);
        this.held += charge(piece);
      });
      this.have.add(start, end);
    }
    return growth;
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
    this.held -= charge(piece);
    // What is left of it is a view, not a copy to extend.
    if (this.readOffset === this.copyStart) this.copyStart = -1;
    let out = piece;
    if (piece.length > maxBytes) {
      out = piece.subarray(0, maxBytes);
      const rest = piece.subarray(maxBytes);
      this.pieces.set(this.readOffset + maxBytes, rest);
      this.held += charge(rest);
    }
    this.have.remove(this.readOffset, this.readOffset + out.length);
    this.readOffset += out.length;
    return out;
  }

  discard(): void {
    this.pieces.clear();
    this.have.clear();
    this.held = 0;
    this.copyStart = -1;
  }
}
