import { RangeSet } from '../rangeSet.ts';

/**
 * The sending half of a stream: bytes the application wrote, kept by reference (no copy) until
 * acknowledged, with the ranges lost in transit queued for retransmission ahead of new data.
 */
export class SendBuffer {
  private chunks: Uint8Array[] = [];
  private chunkStarts: number[] = [];
  private head = 0;
  /** Offset one past the last byte written. */
  written = 0;
  /** Offset of the next never-sent byte. */
  nextOffset = 0;
  /** All bytes below this offset are acknowledged and released. */
  ackedPrefix = 0;
  private readonly acked = new RangeSet();
  readonly lost = new RangeSet();
  finRequested = false;
  finSent = false;
  finAcked = false;
  finLost = false;

  /** Bytes acknowledged anywhere (below and above the acknowledged prefix). */
  private ackedBytes = 0;

  /**
   * Bytes written and not yet acknowledged: what counts against send-buffer limits. Bytes
   * acknowledged beyond a hole do not count, so one stubborn loss does not stall the writer.
   */
  get buffered(): number {
    return this.written - this.ackedBytes;
  }

  /** Bytes written and never sent yet (resends of lost bytes not counted). */
  get unsent(): number {
    return this.written - this.nextOffset;
  }

  get hasNewData(): boolean {
    return this.nextOffset < this.written || (this.finRequested && !this.finSent);
  }

  get hasLostData(): boolean {
    return !this.lost.isEmpty || this.finLost;
  }

  /** Everything, FIN included, has been acknowledged. */
  get allAcked(): boolean {
    return this.finAcked && this.ackedPrefix === this.written;
  }

  /** Keeps a reference to `data`: the caller must not modify it afterwards. */
  write(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.chunkStarts.push(this.written);
    this.written += data.length;
  }

  /** Copies [offset, offset + length) into `dest` at `destOffset`. The range must be held. */
  copyOut(offset: number, length: number, dest: Uint8Array, destOffset: number): void {
    let i = this.chunkIndexOf(offset);
    let remaining = length;
    let pos = offset;
    let out = destOffset;
    while (remaining > 0) {
      const chunk = this.chunks[i];
      const within = pos - this.chunkStarts[i];
      const n = Math.min(remaining, chunk.length - within);
      dest.set(n === chunk.length ? chunk : chunk.subarray(within, within + n), out);
      out += n;
      pos += n;
      remaining -= n;
      i++;
    }
  }

  onAcked(offset: number, length: number, fin: boolean): void {
    if (fin) {
      this.finAcked = true;
      this.finLost = false;
    }
    if (length === 0) return;
    const start = Math.max(offset, this.ackedPrefix);
    const end = offset + length;
    if (end <= start) return;
    this.ackedBytes += this.acked.add(start, end);
    this.lost.remove(start, end);
    const first = this.acked.min;
    if (first !== undefined && first <= this.ackedPrefix) {
      this.release(this.acked.endAt(0));
    } else {
      this.dropAckedChunks(start, end);
    }
  }

  onLost(offset: number, length: number, fin: boolean): void {
    if (fin && !this.finAcked) this.finLost = true;
    if (length === 0) return;
    const start = Math.max(offset, this.ackedPrefix);
    const end = offset + length;
    if (end <= start) return;
    // Only what has not been acknowledged since (a spurious loss or a later copy) goes back.
    this.acked.forEachGap(start, end, (s, e) => this.lost.add(s, e));
  }

  /** Drops everything: the stream was reset. */
  discard(): void {
    this.chunks = [];
    this.chunkStarts = [];
    this.head = 0;
    this.ackedPrefix = this.written;
    this.ackedBytes = this.written;
    this.lost.clear();
    this.acked.clear();
  }

  /** Lets go of chunks inside [start, end) that are now wholly acknowledged beyond a hole. */
  private dropAckedChunks(start: number, end: number): void {
    for (let i = this.chunkIndexOf(start); i < this.chunks.length && this.chunkStarts[i] < end; i++) {
      const chunk = this.chunks[i];
      if (chunk.length > 0 && this.acked.covers(this.chunkStarts[i], this.chunkStarts[i] + chunk.length)) {
        this.chunks[i] = EMPTY;
      }
    }
  }

  private release(upTo: number): void {
    this.ackedPrefix = upTo;
    this.acked.removeBelow(upTo);
    while (this.head < this.chunks.length - 1 && this.chunkStarts[this.head + 1] <= upTo) {
      this.chunks[this.head] = EMPTY;
      this.head++;
    }
    if (this.head > 32 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.chunkStarts = this.chunkStarts.slice(this.head);
      this.head = 0;
    }
  }

  private chunkIndexOf(offset: number): number {
    let lo = this.head;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.chunkStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

const EMPTY = new Uint8Array(0);
