import type { SentPacket } from '../ack/sentPacket.ts';
import type { Millis } from '../../base/time.ts';

/** One delivery-rate sample, produced per ACK that acknowledged new packets. */
export interface RateSample {
  /** Bytes per millisecond; 0 when the sample is invalid. */
  deliveryRate: number;
  /** The sample was taken while the sender had nothing to send: a lower bound only. */
  isAppLimited: boolean;
  /**
   * The newest acknowledged packet left before anything sent since the path was last idle had
   * been delivered: the sample is what of that flight has come back so far over a round trip.
   */
  isFirstFlight: boolean;
  /** Bytes newly acknowledged by this ACK. */
  ackedBytes: number;
  /** Path-wide delivered count when the newest acknowledged packet was sent (round tracking). */
  priorDelivered: number;
}

/**
 * Delivery rate estimation per draft-cheng-iccrg-delivery-rate-estimation: each packet remembers
 * how much had been delivered when it was sent, so an ACK yields delivered-bytes over the longer
 * of the send and ACK intervals, immune to ACK compression.
 */
export class DeliveryRateEstimator {
  delivered = 0;
  private deliveredTime: Millis = 0;
  private firstSentTime: Millis = 0;
  /** Nonzero while the bytes up to this delivered count were sent app-limited. */
  private appLimitedUntil = 0;

  /** Whether the application, not the path, limits what is sent now (packets sent now are marked so). */
  get isAppLimited(): boolean {
    return this.appLimitedUntil !== 0;
  }

  private samplePriorDelivered = -1;
  private sampleSendElapsed: Millis = 0;
  private sampleAckElapsed: Millis = 0;
  private sampleAppLimited = false;
  /** Nothing has been delivered yet: the first packets sent are a first flight. */
  private sampleFirstFlight = true;
  private sampleAcked = 0;
  private readonly sample: RateSample = { deliveryRate: 0, isAppLimited: false, isFirstFlight: true, ackedBytes: 0, priorDelivered: 0 };

  /** Stamps a packet about to be sent. `bytesInFlight` excludes the packet itself. */
  onPacketSent(packet: SentPacket, now: Millis, bytesInFlight: number): void {
    if (bytesInFlight === 0) {
      this.firstSentTime = now;
      this.deliveredTime = now;
    }
    packet.delivered = this.delivered;
    packet.deliveredTime = this.deliveredTime;
    packet.firstSentTime = this.firstSentTime;
    packet.isAppLimited = this.appLimitedUntil !== 0;
  }

  /** The sender ran out of data with room in the window: samples until this point are app-limited. */
  onAppLimited(bytesInFlight: number): void {
    this.appLimitedUntil = Math.max(1, this.delivered + bytesInFlight);
  }

  /** Call for every packet an ACK newly acknowledges, then {@link takeSample} once. */
  onPacketAcked(packet: SentPacket, now: Millis): void {
    this.delivered += packet.size;
    this.deliveredTime = now;
    this.sampleAcked += packet.size;
    if (this.appLimitedUntil !== 0 && this.delivered > this.appLimitedUntil) this.appLimitedUntil = 0;
    if (packet.delivered >= this.samplePriorDelivered) {
      this.samplePriorDelivered = packet.delivered;
      this.sampleSendElapsed = packet.timeSent - packet.firstSentTime;
      this.sampleAckElapsed = now - packet.deliveredTime;
      this.sampleAppLimited = packet.isAppLimited;
      // Both clocks start together when a flight leaves an idle path, and part at its first ACK.
      this.sampleFirstFlight = packet.deliveredTime === packet.firstSentTime;
      this.firstSentTime = packet.timeSent;
    }
  }

  /** The rate sample of the ACK just processed; reused object, valid until the next call. */
  takeSample(minRtt: Millis): RateSample {
    const s = this.sample;
    s.ackedBytes = this.sampleAcked;
    s.isAppLimited = this.sampleAppLimited;
    s.isFirstFlight = this.sampleFirstFlight;
    s.priorDelivered = Math.max(0, this.samplePriorDelivered);
    s.deliveryRate = 0;
    if (this.samplePriorDelivered >= 0) {
      const interval = Math.max(this.sampleSendElapsed, this.sampleAckElapsed);
      // Shorter than min_rtt means ACK compression or a stretched send burst: not a rate.
      if (interval > 0 && (interval >= minRtt || !Number.isFinite(minRtt))) {
        s.deliveryRate = (this.delivered - this.samplePriorDelivered) / interval;
      }
    }
    this.samplePriorDelivered = -1;
    this.sampleAcked = 0;
    return s;
  }
}
