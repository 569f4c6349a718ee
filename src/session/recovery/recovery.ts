import type { Millis } from '../../base/time.ts';
import type { SentPacket } from '../ack/sentPacket.ts';
import type { Path } from '../path.ts';

/** Extra wait before a protected packet counts as lost, beyond its group's repairs. */
const FEC_LOSS_SLACK_MS = 5;
/** RFC 9002 §6.2.4: up to two ack-eliciting packets per probe timeout. */
const PROBES_PER_TIMEOUT = 2;

/** What becomes of the frames of the packets recovery settles; the streams implement it. */
export interface FrameFate {
  /** The peer acknowledged `packet`. */
  framesAcked(packet: SentPacket): void;
  /** `packet`'s frames must go again: it was lost, or a probe re-sends it. */
  framesLost(packet: SentPacket): void;
}

/** What an ACK frame did. */
export const AckOutcome = {
  /** It acknowledged something new. */
  Progress: 0,
  /** Nothing in it was news (a duplicate or reordered ACK). */
  NoProgress: 1,
  /** It acknowledges a packet never sent: a protocol violation. */
  Invalid: 2,
} as const;
export type AckOutcome = (typeof AckOutcome)[keyof typeof AckOutcome];

/**
 * Loss recovery over each path's packet number space, RFC 9002: the ACK walk, RTT samples,
 * loss detection by packet and time threshold (§6.1), the probe timeout (§6.2), and the bytes in
 * flight that congestion control and the scheduler read. Frames are settled through
 * {@link FrameFate}: packets are never re-sent whole, their frames are (on whichever path is best
 * then). One instance serves every path of a session; it keeps no per-packet closures.
 */
export class Recovery {
  // The walk in progress, read by the callbacks below (bound once, so a walk allocates nothing).
  private walkPath: Path | null = null;
  private walkNow: Millis = 0;
  private walkRanges: ReadonlyArray<readonly [number, number]> = [];
  private walkRange = 0;
  private walkLargest = -1;
  private walkLargestPacket: SentPacket | undefined = undefined;
  private walkAcked = false;
  private walkLostBytes = 0;
  private walkLossDelay: Millis = 0;

  constructor(
    private readonly frames: FrameFate,
    private readonly maxAckDelayMs: Millis,
  ) {}

  /** Tracks an ack-eliciting packet the moment it leaves on `path`. */
  onPacketSent(now: Millis, path: Path, packet: SentPacket): void {
    path.rate.onPacketSent(packet, now, path.bytesInFlight);
    path.history.add(packet);
    path.bytesInFlight += packet.size;
    path.elicitingInFlight++;
    path.lastElicitingSentAt = now;
    path.pacer.onSend(now, packet.size, path.cc.pacingRate);
    path.cc.onPacketSent(now, path.rate.delivered);
  }

  /**
   * An ACK frame for `path`'s packets (ranges descending, as decoded). `onOwnPath`: it arrived on
   * that path; one that came back on another measures two paths, so it gives no RTT sample.
   */
  onAck(now: Millis, path: Path, ranges: ReadonlyArray<readonly [number, number]>, ackDelayMicros: number, onOwnPath: boolean): AckOutcome {
    const largest = ranges[0][1];
    if (largest >= path.nextPn) return AckOutcome.Invalid;
    path.reorderWindow.onAck(ranges, path.rtt.smoothed, path.reorderDistance > 0);
    this.walkPath = path;
    this.walkNow = now;
    this.walkRanges = ranges;
    this.walkRange = ranges.length - 1;
    this.walkLargest = largest;
    this.walkLargestPacket = undefined;
    this.walkAcked = false;
    path.history.forEachBelow(largest + 1, this.ackEach);
    const largestPacket = this.walkLargestPacket as SentPacket | undefined;
    this.walkPath = null;
    this.walkRanges = [];
    this.walkLargestPacket = undefined;
    if (!this.walkAcked) return AckOutcome.NoProgress;
    path.lastAckProgressAt = now;
    if (largest > path.largestAcked) path.largestAcked = largest;
    let rttSample = NaN;
    if (largestPacket !== undefined && onOwnPath) {
      rttSample = now - largestPacket.timeSent;
      path.rtt.update(rttSample, Math.min(ackDelayMicros / 1000, this.maxAckDelayMs));
    }
    path.unansweredPtos = 0;
    const lostBytes = this.detectLosses(path, now);
    const sample = path.rate.takeSample(path.rtt.min);
    path.cc.onAck({
      now,
      sample,
      rtt: rttSample,
      minRtt: path.rtt.min,
      bytesInFlight: path.bytesInFlight,
      delivered: path.rate.delivered,
      lostBytes,
      reorderPackets: path.reorderDistance,
      liveBesideBulk: path.carriesLiveBesideBulk(now),
    });
    return AckOutcome.Progress;
  }

  /**
   * RFC 9002 §6.1: declares lost what is past the packet or time threshold below the largest
   * acknowledged, and arms `path.lossTime` for the next one to pass it. A packet FEC protects
   * waits for its group's repairs first. Returns the bytes declared lost.
   */
  detectLosses(path: Path, now: Millis): number {
    path.lossTime = Infinity;
    if (path.largestAcked < 0) return 0;
    this.walkPath = path;
    this.walkNow = now;
    this.walkLostBytes = 0;
    this.walkLossDelay = path.lossDelay();
    path.history.forEachBelow(path.largestAcked, this.judgeEach);
    this.walkPath = null;
    return this.walkLostBytes;
  }

  /**
   * RFC 9002 §6.2: nothing acknowledged for a PTO. Two probes go now (PINGs, ignoring cwnd and
   * pacing; §6.2.4 allows two), the first carrying the oldest in-flight data again, so a lost tail
   * costs one PTO, not two. Two, because each elicits an ACK: in a burst of loss on the ACK
   * direction the sender hears nothing more until one gets through, and a lone probe per PTO
   * left a 15 Mbit/s stream without ACKs for a second (2 ms path, bursts of 7 packets). Unanswered,
   * the path then pings until it hears back (Path.ptoDeadline).
   */
  onProbeTimeout(path: Path, now: Millis): void {
    path.lastElicitingSentAt = now;
    if (path.unansweredPtos++ > 0) {
      path.silencePingDue = true;
      return;
    }
    path.counters.ptoCount++;
    path.probesPending = PROBES_PER_TIMEOUT;
    path.pacer.reset();
    const oldest = path.history.oldest();
    if (oldest !== undefined) this.resend(path, oldest);
  }

  /** The path failed over: everything in flight on it is lost, to be sent again elsewhere at once. */
  abandon(path: Path): void {
    this.walkPath = path;
    path.history.forEachBelow(path.nextPn, this.loseEach);
    this.walkPath = null;
    path.lossTime = Infinity;
  }

  private readonly ackEach = (packet: SentPacket): boolean => {
    const ranges = this.walkRanges;
    while (this.walkRange >= 0 && ranges[this.walkRange][1] < packet.pn) this.walkRange--;
    if (this.walkRange < 0) return false;
    if (packet.pn < ranges[this.walkRange][0]) return true;
    const path = this.walkPath!;
    path.history.take(packet.pn);
    path.bytesInFlight -= packet.size;
    path.elicitingInFlight--;
    path.counters.packetsAcked++;
    path.rate.onPacketAcked(packet, this.walkNow);
    this.frames.framesAcked(packet);
    if (packet.pn === this.walkLargest) this.walkLargestPacket = packet;
    this.walkAcked = true;
    return true;
  };

  private readonly judgeEach = (packet: SentPacket): boolean => {
    const path = this.walkPath!;
    const now = this.walkNow;
    const lossDelay = this.walkLossDelay;
    const group = packet.fecGroup;
    if (group !== null && (group.releasePn === null || path.largestAcked < group.releasePn[path.id])) {
      // FEC may still restore it: wait for the group's repairs, then a little more.
      const held = packet.timeSent + lossDelay + group.holdMs + FEC_LOSS_SLACK_MS;
      if (held > now) {
        path.lossTime = held;
        return false;
      }
    }
    if (packet.pn <= path.largestAcked - path.packetThreshold || packet.timeSent <= now - lossDelay) {
      path.history.take(packet.pn);
      this.walkLostBytes += packet.size;
      this.lose(path, packet);
      return true;
    }
    path.lossTime = packet.timeSent + lossDelay;
    return false;
  };

  private readonly loseEach = (packet: SentPacket): boolean => {
    const path = this.walkPath!;
    path.history.take(packet.pn);
    this.lose(path, packet);
    return true;
  };

  private lose(path: Path, packet: SentPacket): void {
    path.bytesInFlight -= packet.size;
    path.elicitingInFlight--;
    path.counters.packetsLost++;
    path.reorderWindow.onLost(packet.pn);
    this.resend(path, packet);
  }

  private resend(path: Path, packet: SentPacket): void {
    path.counters.retransmittedFrames += packet.frames.length;
    this.frames.framesLost(packet);
  }
}
