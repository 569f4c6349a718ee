/**
 * Anti-replay sliding window over one path's packet number space, in the manner of RFC 6479
 * (IPsec anti-replay without bit shifting): a ring of 32-bit words indexed by packet number,
 * with one spare word so advancing the window clears whole words and never a bit still inside it.
 */

/**
 * Remembers which packet numbers of one path were already accepted. The session owns one per
 * path per session. Call {@link accept} only AFTER `PacketOpener.open` succeeded, otherwise
 * forged packets could move the window. O(1) amortized per call (a jump of `d` packet numbers
 * clears min(d, size)/32 words), no allocation after construction; memory is size/8 + 4 bytes.
 */
export class ReplayWindow {
  /** Number of packet numbers at and below the highest accepted one that are tracked. */
  readonly size: number;
  private readonly bits: Uint32Array;
  private readonly words: number;
  private top = -1;

  /**
   * @param size window length in packet numbers, rounded up to a multiple of 32. Throws
   *   RangeError unless it is a positive integer (a configuration bug, not wire input).
   */
  constructor(size = 4096) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`bad window size ${size}`);
    this.words = Math.ceil(size / 32) + 1;
    this.size = (this.words - 1) * 32;
    this.bits = new Uint32Array(this.words);
  }

  /** Highest packet number accepted so far, -1 before the first. */
  get highest(): number {
    return this.top;
  }

  /**
   * True exactly once for each packet number above `highest - size`; false for a duplicate or a
   * number that fell behind the window. `pn` is an integer in [0, 2^48-1] (a decoded u48).
   */
  accept(pn: number): boolean {
    const top = this.top;
    const words = this.words;
    const bits = this.bits;
    const word = Math.floor(pn / 32);
    // `& 31` on a number < 2^53 keeps its low five bits: ToInt32 works modulo 2^32.
    const bit = 1 << (pn & 31);
    if (pn > top) {
      const topWord = Math.floor(top / 32);
      const advance = word - topWord;
      if (advance >= words) {
        bits.fill(0);
      } else {
        for (let w = topWord + 1; w <= word; w++) bits[w % words] = 0;
      }
      bits[word % words] |= bit;
      this.top = pn;
      return true;
    }
    if (pn <= top - this.size) return false;
    const i = word % words;
    if ((bits[i] & bit) !== 0) return false;
    bits[i] |= bit;
    return true;
  }
}
