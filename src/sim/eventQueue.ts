/**
 * A binary min-heap of timed events for the simulator and the impairment proxy.
 *
 * Events are ordered by time, and events at the same time leave in the order they were pushed
 * (FIFO), which keeps a simulation deterministic and keeps same-instant datagrams in send order.
 *
 * Each event is a (time, tag, payload) triple stored in parallel arrays rather than as an object
 * per event, so the hot path (one push and one pop per datagram) allocates nothing once the arrays
 * have grown to the working set. The tag is a small integer the owner uses to say what kind of
 * event it is (e.g. path and direction of a datagram), so the payload can be the datagram itself.
 */
export class EventQueue<T> {
  private times = new Float64Array(64);
  private seqs = new Float64Array(64);
  private tags = new Int32Array(64);
  private payloads: (T | undefined)[] = new Array(64);
  private count = 0;
  private nextSeq = 0;

  /** Number of queued events. O(1). */
  get size(): number {
    return this.count;
  }

  /** Time of the earliest event, or `Infinity` when empty. O(1). */
  get nextTime(): number {
    return this.count === 0 ? Infinity : this.times[0];
  }

  /** Tag of the earliest event; only meaningful when `size > 0`. O(1). */
  get nextTag(): number {
    return this.tags[0];
  }

  /**
   * Queues `payload` at `time` under `tag` (an int32). O(log n); amortized allocation-free
   * (the backing arrays double when full).
   */
  push(time: number, tag: number, payload: T): void {
    if (this.count === this.times.length) this.grow();
    let i = this.count++;
    const seq = this.nextSeq++;
    const { times, seqs, tags, payloads } = this;
    // Sift up: move parents down until the new event's slot is found, then write it once.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent];
      if (pt < time || (pt === time && seqs[parent] < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[parent];
      tags[i] = tags[parent];
      payloads[i] = payloads[parent];
      i = parent;
    }
    times[i] = time;
    seqs[i] = seq;
    tags[i] = tag;
    payloads[i] = payload;
  }

  /**
   * Removes the earliest event and returns its payload; read `nextTime` / `nextTag` first if
   * needed. O(log n). Throws on an empty queue, since that is always a caller bug.
   */
  pop(): T {
    if (this.count === 0) throw new Error('EventQueue.pop on an empty queue');
    const { times, seqs, tags, payloads } = this;
    const top = payloads[0] as T;
    const last = --this.count;
    const time = times[last];
    const seq = seqs[last];
    const tag = tags[last];
    const payload = payloads[last];
    payloads[last] = undefined; // let the GC have delivered datagrams
    if (last === 0) return top;
    // Sift the former last element down from the root.
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      const right = child + 1;
      if (
        right < last &&
        (times[right] < times[child] || (times[right] === times[child] && seqs[right] < seqs[child]))
      ) {
        child = right;
      }
      const ct = times[child];
      if (time < ct || (time === ct && seq < seqs[child])) break;
      times[i] = ct;
      seqs[i] = seqs[child];
      tags[i] = tags[child];
      payloads[i] = payloads[child];
      i = child;
    }
    times[i] = time;
    seqs[i] = seq;
    tags[i] = tag;
    payloads[i] = payload;
    return top;
  }

  /** Drops every queued event. O(n) (releases payload references). */
  clear(): void {
    this.payloads.fill(undefined, 0, this.count);
    this.count = 0;
  }

  private grow(): void {
    const n = this.times.length * 2;
    const times = new Float64Array(n);
    times.set(this.times);
    const seqs = new Float64Array(n);
    seqs.set(this.seqs);
    const tags = new Int32Array(n);
    tags.set(this.tags);
    this.times = times;
    this.seqs = seqs;
    this.tags = tags;
    this.payloads.length = n;
  }
}
