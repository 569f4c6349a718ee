import type { Millis } from '../../base/time.ts';

/**
 * Round-trip time estimation per path, RFC 9002 §5: latest, min, smoothed and variance, with the
 * peer's reported ACK delay subtracted when that leaves the sample above min_rtt.
 */
export class RttEstimator {
  latest: Millis;
  smoothed: Millis;
  variance: Millis;
  min: Millis = Infinity;
  hasSample = false;

  constructor(private readonly initialRtt: Millis) {
    this.latest = initialRtt;
    this.smoothed = initialRtt;
    this.variance = initialRtt / 2;
  }

  /** Call once per ACK that newly acknowledges the largest packet and that packet was ack-eliciting. */
  update(sample: Millis, ackDelay: Millis): void {
    this.latest = sample;
    if (sample < this.min) this.min = sample;
    if (!this.hasSample) {
      this.hasSample = true;
      this.smoothed = sample;
      this.variance = sample / 2;
      return;
    }
    const adjusted = sample - ackDelay >= this.min ? sample - ackDelay : sample;
    this.variance = 0.75 * this.variance + 0.25 * Math.abs(this.smoothed - adjusted);
    this.smoothed = 0.875 * this.smoothed + 0.125 * adjusted;
  }

  /** Probe timeout base (RFC 9002 §6.2.1), before exponential backoff. */
  pto(maxAckDelay: Millis): Millis {
    return this.smoothed + Math.max(4 * this.variance, 1) + maxAckDelay;
  }

  /** Forget everything (path re-validated after an outage: old figures no longer hold). */
  reset(): void {
    this.latest = this.initialRtt;
    this.smoothed = this.initialRtt;
    this.variance = this.initialRtt / 2;
    this.min = Infinity;
    this.hasSample = false;
  }
}
