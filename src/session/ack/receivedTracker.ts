import { RangeSet } from '../rangeSet.ts';
import type { Millis } from '../../base/time.ts';

/** Most ACK ranges remembered per path; older holes are given up on (the sender times them out). */
const MAX_TRACKED_RANGES = 256;
/**
 * The first packets of a path are acknowledged every second one (RFC 9000 §13.2.2), so start-up's
 * short rounds get their rate samples at once; after these, every `ackEvery`-th.
 */
const EAGER_ACK_PACKETS = 100;
const EAGER_ACK_EVERY = 2;
/**
 * ACK frequency on a path that loses packets: ACKs are lost in runs too, and the sparser they
 * are, the longer in time a run of lost ACKs lasts. On a 19 ms path with bursty loss, a run took
 * every ACK for 400 ms at every tenth packet, and the window stayed full that long.
 */
const LOSSY_ACK_EVERY = 4;

/**
 * Packet numbers received on one path, and when an ACK for them is due (RFC 9000 §13.2):
 * after `ackEvery` ack-eliciting packets, at once when a packet arrives out of order, else
 * within `maxAckDelay`. Every ACK is a datagram each way through both hosts' kernels and
 * crypto: at every second packet, ACKs were a fifth of a loopback transfer's packets.
 */
export class ReceivedTracker {
  readonly received = new RangeSet();
  private largestTime: Millis = 0;
  private unackedEliciting = 0;
  private ackDueAt: Millis = Infinity;
  private ackChanged = false;
  private elicitingReceived = 0;
  private lossy = false;

  constructor(
    private readonly ackEvery: number,
    private readonly maxAckDelay: Millis,
  ) {}

  /** Records an authenticated packet. Returns false if it was a duplicate. */
  onPacket(now: Millis, pn: number, ackEliciting: boolean): boolean {
    const largest = this.received.max;
    if (this.received.add(pn, pn + 1) === 0) return false;
    this.received.keepHighest(MAX_TRACKED_RANGES);
    const outOfOrder = largest !== undefined && pn !== largest;
    if (largest === undefined || pn >= largest) this.largestTime = now;
    // ACK-only packets are never acknowledged on their own (RFC 9000 §13.2.1): that would ping-pong.
    if (!ackEliciting) return true;
    this.ackChanged = true;
    this.unackedEliciting++;
    const every = ++this.elicitingReceived <= EAGER_ACK_PACKETS ? EAGER_ACK_EVERY : this.lossy ? Math.min(LOSSY_ACK_EVERY, this.ackEvery) : this.ackEvery;
    if (outOfOrder || this.unackedEliciting >= every) {
      this.ackDueAt = now;
    } else if (this.ackDueAt === Infinity) {
      this.ackDueAt = now + this.maxAckDelay;
    }
    return true;
  }

  /** Call once a loss report interval: whether packets arriving on the path were lost lately. */
  setLossy(lossy: boolean): void {
    this.lossy = lossy;
  }

  /** When an ACK must go out (Infinity if none is owed). */
  get ackDeadline(): Millis {
    return this.ackDueAt;
  }

  /** True when ack-eliciting packets await acknowledgement (worth piggybacking on any packet). */
  get hasNewInfo(): boolean {
    return this.ackChanged;
  }

  /** Microseconds since the largest packet arrived, as the ACK frame reports. */
  ackDelayMicros(now: Millis): number {
    return Math.max(0, Math.round((now - this.largestTime) * 1000));
  }

  /** Call after an ACK frame for this path went out. */
  onAckSent(): void {
    this.unackedEliciting = 0;
    this.ackDueAt = Infinity;
    this.ackChanged = false;
  }

  /** Writes ranges, highest first, into `out` as [lo, hi] inclusive pairs (at most `max`). */
  ranges(out: Array<[number, number]>, max: number): Array<[number, number]> {
    out.length = 0;
    for (let i = this.received.rangeCount - 1; i >= 0 && out.length < max; i--) {
      out.push([this.received.startAt(i), this.received.endAt(i) - 1]);
    }
    return out;
  }
}
