/**
 * A set of non-negative integers stored as sorted, disjoint, non-adjacent half-open ranges
 * [start, end). Used for received packet numbers (ACK ranges), acknowledged stream bytes and
 * stream bytes waiting for retransmission. Operations near the top end (the common case: new
 * packets, in-order data) are O(1); elsewhere O(log n) search plus an array splice.
 */
export class RangeSet {
  /** Flat pairs: starts[i] .. ends[i]. Two parallel arrays avoid an object per range. */
  private starts: number[] = [];
  private ends: number[] = [];

  get rangeCount(): number {
    return this.starts.length;
  }

  get isEmpty(): boolean {
    return this.starts.length === 0;
  }

  /** Lowest member; undefined when empty. */
  get min(): number | undefined {
    return this.starts[0];
  }

  /** One past the highest member; undefined when empty. */
  get max(): number | undefined {
    return this.ends.length === 0 ? undefined : this.ends[this.ends.length - 1];
  }

  startAt(i: number): number {
    return this.starts[i];
  }

  endAt(i: number): number {
    return this.ends[i];
  }

  /** Total count of members. O(ranges). */
  size(): number {
    let total = 0;
    for (let i = 0; i < this.starts.length; i++) total += this.ends[i] - this.starts[i];
    return total;
  }

  has(value: number): boolean {
    const i = this.indexAtOrBefore(value);
    return i >= 0 && value < this.ends[i];
  }

  /** Whether every value of [start, end) is present. */
  covers(start: number, end: number): boolean {
    const i = this.indexAtOrBefore(start);
    return i >= 0 && this.ends[i] >= end;
  }

  /** Adds [start, end). Returns how many values were not already present. */
  add(start: number, end: number): number {
    if (end <= start) return 0;
    const n = this.starts.length;
    if (n === 0 || start > this.ends[n - 1]) {
      this.starts.push(start);
      this.ends.push(end);
      return end - start;
    }
    if (start >= this.starts[n - 1]) {
      const before = this.ends[n - 1];
      if (end <= before) return 0;
      this.ends[n - 1] = end;
      return end - before;
    }
    // General case: merge every range touching [start, end].
    let first = this.indexAtOrBefore(start);
    if (first < 0 || this.ends[first] < start) first++;
    let last = first;
    let covered = 0;
    while (last < n && this.starts[last] <= end) {
      covered += Math.min(this.ends[last], end) - Math.max(this.starts[last], start);
      last++;
    }
    const mergedStart = first < last ? Math.min(start, this.starts[first]) : start;
    const mergedEnd = first < last ? Math.max(end, this.ends[last - 1]) : end;
    this.starts.splice(first, last - first, mergedStart);
    this.ends.splice(first, last - first, mergedEnd);
    return end - start - Math.max(0, covered);
  }

  /** Removes [start, end). */
  remove(start: number, end: number): void {
    if (end <= start || this.starts.length === 0) return;
    let i = this.indexAtOrBefore(start);
    if (i < 0 || this.ends[i] <= start) i++;
    while (i < this.starts.length && this.starts[i] < end) {
      const s = this.starts[i];
      const e = this.ends[i];
      if (s < start && e > end) {
        this.ends[i] = start;
        this.starts.splice(i + 1, 0, end);
        this.ends.splice(i + 1, 0, e);
        return;
      }
      if (s < start) {
        this.ends[i] = start;
        i++;
      } else if (e > end) {
        this.starts[i] = end;
        return;
      } else {
        this.starts.splice(i, 1);
        this.ends.splice(i, 1);
      }
    }
  }

  /** Removes and returns the lowest range, clipped to at most `maxLength` values. */
  shiftRange(maxLength: number): [number, number] | undefined {
    if (this.starts.length === 0) return undefined;
    const s = this.starts[0];
    const e = Math.min(this.ends[0], s + maxLength);
    if (e === this.ends[0]) {
      this.starts.shift();
      this.ends.shift();
    } else {
      this.starts[0] = e;
    }
    return [s, e];
  }

  /** Calls `fn` for each maximal sub-range of [start, end) that is not in the set, in order. */
  forEachGap(start: number, end: number, fn: (gapStart: number, gapEnd: number) => void): void {
    let i = this.indexAtOrBefore(start);
    if (i < 0 || this.ends[i] <= start) i++;
    let cursor = start;
    while (cursor < end && i < this.starts.length && this.starts[i] < end) {
      if (this.starts[i] > cursor) fn(cursor, this.starts[i]);
      cursor = Math.max(cursor, this.ends[i]);
      i++;
    }
    if (cursor < end) fn(cursor, end);
  }

  /** Drops every member below `value`. */
  removeBelow(value: number): void {
    let drop = 0;
    while (drop < this.starts.length && this.ends[drop] <= value) drop++;
    if (drop > 0) {
      this.starts.splice(0, drop);
      this.ends.splice(0, drop);
    }
    if (this.starts.length > 0 && this.starts[0] < value) this.starts[0] = value;
  }

  /** Keeps only the highest `count` ranges (bounds memory of received-packet tracking). */
  keepHighest(count: number): void {
    const excess = this.starts.length - count;
    if (excess > 0) {
      this.starts.splice(0, excess);
      this.ends.splice(0, excess);
    }
  }

  clear(): void {
    this.starts.length = 0;
    this.ends.length = 0;
  }

  /** Index of the last range whose start <= value, or -1. */
  private indexAtOrBefore(value: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] <= value) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}
