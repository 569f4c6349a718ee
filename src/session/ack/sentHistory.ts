import type { SentPacket } from './sentPacket.ts';

/**
 * Packets sent on one path and not yet acknowledged or declared lost, indexed by packet number.
 * Packet numbers on a path only grow, so this is a ring buffer indexed by pn - base: O(1)
 * insert, lookup and removal; removed slots are holes that the head skips.
 */
export class SentHistory {
  private slots: (SentPacket | undefined)[] = new Array(1024);
  private mask = 1023;
  /** Lowest packet number still possibly present. */
  private head = 0;
  /** One past the highest packet number added. */
  private tail = 0;
  private live = 0;

  get count(): number {
    return this.live;
  }

  get lowestPn(): number {
    this.skipHoles();
    return this.head;
  }

  get nextPn(): number {
    return this.tail;
  }

  /** Packets must be added in increasing pn order, each pn at most once. */
  add(packet: SentPacket): void {
    if (this.live === 0) {
      this.head = packet.pn;
    }
    while (packet.pn - this.head >= this.slots.length) this.grow();
    this.slots[packet.pn & this.mask] = packet;
    this.tail = packet.pn + 1;
    this.live++;
  }

  get(pn: number): SentPacket | undefined {
    if (pn < this.head || pn >= this.tail) return undefined;
    const p = this.slots[pn & this.mask];
    return p !== undefined && p.pn === pn ? p : undefined;
  }

  /** Removes and returns the packet with this number, if present. */
  take(pn: number): SentPacket | undefined {
    const p = this.get(pn);
    if (p === undefined) return undefined;
    this.slots[pn & this.mask] = undefined;
    this.live--;
    this.skipHoles();
    return p;
  }

  /**
   * The `nth` packet present from `pn` on (1: the first), looking at most `span` numbers ahead;
   * the last one present there when there are fewer, undefined when there is none.
   */
  nthFrom(pn: number, nth: number, span: number): SentPacket | undefined {
    const end = Math.min(this.tail, pn + span);
    let found: SentPacket | undefined;
    let count = 0;
    for (let n = Math.max(pn, this.head); n < end && count < nth; n++) {
      const p = this.slots[n & this.mask];
      if (p !== undefined && p.pn === n) {
        found = p;
        count++;
      }
    }
    return found;
  }

  /** The oldest packet still present. */
  oldest(): SentPacket | undefined {
    this.skipHoles();
    return this.live === 0 ? undefined : this.slots[this.head & this.mask];
  }

  /** Calls `fn` on present packets in pn order from the oldest up to (excluding) `endPn`; stops when fn returns false. */
  forEachBelow(endPn: number, fn: (packet: SentPacket) => boolean): void {
    for (let pn = this.head; pn < Math.min(endPn, this.tail); pn++) {
      const p = this.slots[pn & this.mask];
      if (p !== undefined && p.pn === pn && !fn(p)) return;
    }
  }

  private skipHoles(): void {
    while (this.head < this.tail && this.slots[this.head & this.mask] === undefined) this.head++;
    if (this.live === 0) this.head = this.tail;
  }

  private grow(): void {
    const next: (SentPacket | undefined)[] = new Array(this.slots.length * 2);
    const mask = next.length - 1;
    for (let pn = this.head; pn < this.tail; pn++) {
      const p = this.slots[pn & this.mask];
      if (p !== undefined && p.pn === pn) next[pn & mask] = p;
    }
    this.slots = next;
    this.mask = mask;
  }
}
