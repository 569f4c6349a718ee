import type { Millis } from '../../base/time.ts';
import type { RateSample } from './deliveryRate.ts';

/** Facts about one ACK that a controller may use. */
export interface AckEvent {
  now: Millis;
  sample: RateSample;
  /** Latest RTT sample of this ACK, or NaN when it yielded none. */
  rtt: Millis;
  minRtt: Millis;
  bytesInFlight: number;
  /** The path's delivered byte count after this ACK (packets sent from now on stamp at least this). */
  delivered: number;
  /** Bytes declared lost while processing this ACK. */
  lostBytes: number;
  /**
   * How many packets the path lately delivered a packet behind packets sent after it, as the
   * receiver measured it on the wire (0: no reordering). A queue never reorders, so this is the
   * path's jitter, not our queueing. Peer-reported: a controller bounds what it makes of it.
   */
  reorderPackets: number;
  /** The path carries live data beside a download (Path.carriesLiveBesideBulk): an overshoot would hit it. */
  liveBesideBulk: boolean;
}

/**
 * A per-path congestion controller. Every implementation paces: the path sends no faster than
 * `pacingRate` and keeps at most `cwnd` bytes in flight. Time comes in as arguments.
 */
export interface CongestionController {
  /** Bytes per millisecond the pacer spreads packets at. */
  readonly pacingRate: number;
  /** Bytes allowed in flight. */
  readonly cwnd: number;
  /** Call after processing each ACK that acknowledged or lost something. */
  onAck(event: AckEvent): void;
  /** Call when a packet leaves; `delivered` is the path's delivered count at that time. */
  onPacketSent(now: Millis, delivered: number): void;
  /** An RTT measured outside ACKs (the handshake): may size the first round before any ACK. */
  onRttHint(rtt: Millis): void;
  /** Call when the path lost its way (outage, failover): restart estimation. */
  reset(): void;
  /** Estimated fraction of packets lost for reasons other than our own queue (0..1). */
  readonly randomLossRate: number;
  /** Since when the controller has not been overfilling the bottleneck on purpose (Infinity while it is). */
  readonly steadySince: Millis;
  /** Estimated bottleneck bandwidth, bytes per ms (0 before the first sample). */
  readonly bottleneckBandwidth: number;
  /**
   * The estimate measured the path, not the application's pace: a sample not app-limited was
   * taken since the last reset (app-limited ones may only raise the estimate after that).
   */
  readonly pathMeasured: boolean;
  /** Delay under load that backing off did not remove, ms, counted as the path's (0: none). */
  readonly delayFloorMs: number;
  /** Short state name for logs and metrics. */
  readonly state: string;
}
