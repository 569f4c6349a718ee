import type { SentPacket } from '../../../src/session/ack/sentPacket.ts';
import type { CongestionController } from '../../../src/session/cc/congestionController.ts';
import { DeliveryRateEstimator } from '../../../src/session/cc/deliveryRate.ts';
import { SeededRng } from '../../../src/base/rng.ts';
import { sentPacket } from '../../support/pathParts.ts';

export const MSS = 1200;

export interface BottleneckSpec {
  /** Bottleneck rate, bytes per ms. */
  rate: number;
  /** Round trip without queueing, ms. */
  rttMs: number;
  /** Drop-tail queue, in ms at the bottleneck rate. */
  queueMs: number;
  /** Random loss before the bottleneck, 0..1. */
  lossRate?: number;
  seed?: number;
  /** Every ACK says the path carries live data beside a download (AckEvent.liveBesideBulk). */
  liveBesideBulk?: boolean;
}

/** What a {@link Bottleneck} run saw, per millisecond step. */
export interface Trace {
  t: number;
  pacingRate: number;
  cwnd: number;
  bottleneckBandwidth: number;
  state: string;
  /** Queueing delay at the bottleneck, ms. */
  queueMs: number;
}

/**
 * One path in miniature for driving a {@link CongestionController} alone: a sender that paces
 * full-size packets at the controller's rate within its window (from an application that may
 * offer less), a drop-tail bottleneck, random loss, and ACKs one RTT later with the real
 * delivery-rate estimator's samples. Losses are reported with the next ACK. Steps of 1 ms.
 */
export class Bottleneck {
  now = 0;
  delivered = 0;
  /** Packets the full queue dropped. */
  droppedByQueue = 0;
  readonly trace: Trace[] = [];
  private readonly rate = new DeliveryRateEstimator();
  private readonly rng: SeededRng;
  /** Packets in flight with the time their ACK arrives (Infinity: lost). */
  private inFlight: Array<{ packet: SentPacket; ackAt: number }> = [];
  private bytesInFlight = 0;
  private linkFreeAt = 0;
  private budget = 0;
  private pn = 0;
  private pendingLost = 0;
  private minRtt = Infinity;

  constructor(
    readonly cc: CongestionController,
    readonly spec: BottleneckSpec,
  ) {
    this.rng = new SeededRng(spec.seed ?? 1);
  }

  /**
   * Runs for `ms` with an application offering `appRate` bytes per ms (Infinity: always
   * backlogged).
   */
  run(ms: number, appRate = Infinity): this {
    const end = this.now + ms;
    while (this.now < end) {
      this.now++;
      this.deliverAcks();
      this.send(appRate);
      this.trace.push({
        t: this.now,
        pacingRate: this.cc.pacingRate,
        cwnd: this.cc.cwnd,
        bottleneckBandwidth: this.cc.bottleneckBandwidth,
        state: this.cc.state,
        queueMs: Math.max(0, this.linkFreeAt - this.now),
      });
    }
    return this;
  }

  /** Bytes delivered per ms from `since` to now. */
  goodput(since: number): number {
    return this.deliveredSince(since) / (this.now - since);
  }

  private deliveredAt: Array<[number, number]> = [];

  private deliveredSince(t: number): number {
    const before = this.deliveredAt.filter(([at]) => at <= t).pop()?.[1] ?? 0;
    return this.delivered - before;
  }

  private send(appRate: number): void {
    const offered = Math.min(this.cc.pacingRate, appRate);
    // Credit left over while the window was full is not saved up beyond two packets.
    this.budget = Math.min(this.budget, 2 * MSS) + offered;
    while (this.budget >= MSS && this.bytesInFlight + MSS <= this.cc.cwnd) {
      this.budget -= MSS;
      const packet = sentPacket(this.pn++, this.now, MSS);
      this.rate.onPacketSent(packet, this.now, this.bytesInFlight);
      this.cc.onPacketSent(this.now, this.rate.delivered);
      this.bytesInFlight += MSS;
      let ackAt = Infinity;
      if (this.rng.next() >= (this.spec.lossRate ?? 0)) {
        const start = Math.max(this.now, this.linkFreeAt);
        if (start - this.now <= this.spec.queueMs) {
          this.linkFreeAt = start + MSS / this.spec.rate;
          ackAt = this.linkFreeAt + this.spec.rttMs;
        } else {
          this.droppedByQueue++;
        }
      }
      this.inFlight.push({ packet, ackAt });
    }
    if (appRate < this.cc.pacingRate && this.bytesInFlight + MSS <= this.cc.cwnd) this.rate.onAppLimited(this.bytesInFlight);
  }

  private deliverAcks(): void {
    const acked = this.inFlight.filter((f) => f.ackAt <= this.now);
    if (acked.length === 0) return;
    const newest = acked[acked.length - 1];
    // Whatever was sent before the newest acknowledged packet and is still missing was lost.
    const lost = this.inFlight.filter((f) => f.ackAt === Infinity && f.packet.pn < newest.packet.pn);
    this.inFlight = this.inFlight.filter((f) => f.ackAt > this.now && !lost.includes(f));
    for (const f of acked) {
      this.rate.onPacketAcked(f.packet, this.now);
      this.bytesInFlight -= f.packet.size;
    }
    for (const f of lost) this.bytesInFlight -= f.packet.size;
    this.pendingLost += lost.length * MSS;
    const rtt = this.now - newest.packet.timeSent;
    this.minRtt = Math.min(this.minRtt, rtt);
    this.delivered += acked.length * MSS;
    this.deliveredAt.push([this.now, this.delivered]);
    this.cc.onAck({
      now: this.now,
      sample: this.rate.takeSample(this.minRtt),
      rtt,
      minRtt: this.minRtt,
      bytesInFlight: this.bytesInFlight,
      delivered: this.rate.delivered,
      lostBytes: this.pendingLost,
      reorderPackets: 0,
      liveBesideBulk: this.spec.liveBesideBulk ?? false,
    });
    this.pendingLost = 0;
  }
}
