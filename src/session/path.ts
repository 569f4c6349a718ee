import { ReorderWindow } from './ack/reorderWindow.ts';
import { ReceivedTracker } from './ack/receivedTracker.ts';
import { RttEstimator } from './ack/rttEstimator.ts';
import { SentHistory } from './ack/sentHistory.ts';
import { BbrController } from './cc/bbr.ts';
import type { CongestionController } from './cc/congestionController.ts';
import { DeliveryRateEstimator } from './cc/deliveryRate.ts';
import { Pacer, PACER_BURST_MS } from './cc/pacer.ts';
import { LossEstimate, LossMeter } from './fec/lossMeter.ts';
import { PathMigration } from './pathValidation.ts';
import type { Millis } from '../base/time.ts';
import { PATH_TIMER_COUNT, TimerTable } from './timers.ts';
import { ReplayWindow } from '../wire/replay.ts';

/** RFC 9002 §6.1.1's packet threshold. */
const PACKET_THRESHOLD = 3;
/** Restored packet numbers remembered per path, to recognise their late originals. */
const RESTORED_REMEMBERED = 256;

/** Shortest silence that fails a path over, whatever its RTT: LAN-like paths jitter more than that. */
const MIN_SILENCE_MS = 100;
/** The packet after the largest acknowledged one whose ACK the silence check waits for (see `silenceDeadline`). */
const AWAITED_NTH_PACKET = 3;
/**
 * How far past the largest acknowledged packet the silence check looks: ACK-only packets are not
 * tracked, and with none tracked that far it falls back to the oldest packet outstanding.
 */
const AWAITED_SCAN_PACKETS = 64;
/** How long after its last live packet a path still counts as carrying live traffic, at least. */
const LIVE_TRAFFIC_WINDOW_MS = 100;
/**
 * Once a probe timeout goes unanswered, a bare PING every quarter of the smoothed RTT, within
 * these bounds, until something is acknowledged, where RFC 9002 backs the timeout off. Loss in
 * bursts of packets (netem's gemodel) lasts as many packets as it lasts, and a stalled sender
 * sends few: backed off 64x, a 2 ms path heard ~25 ACKs in 8 s, all lost in one burst, and the
 * session closed on its idle timeout; backed off to 250 ms, a 15 Mbit/s stream heard no ACK for
 * 1-2 s. A ping is ~60 bytes; at most 200 a second until the idle timeout ends a dead session.
 */
const SILENCE_PING_MIN_MS = 5;
const SILENCE_PING_MAX_MS = 25;

export interface PathConfig {
  mtu: number;
  initialRttMs: Millis;
  maxAckDelayMs: Millis;
  ackEveryPackets: number;
  initialCwndPackets: number;
  /** Bytes/ms the first round is sized for once the RTT is known. */
  initialRate: number;
  /** Pacing ceiling in bytes/ms; Infinity for none. */
  maxRate: number;
  /** A backup path carries traffic only while no regular path is up. */
  backup: boolean;
}

/** Traffic counters of one path, for metrics and tests. */
export interface PathCounters {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  packetsLost: number;
  packetsAcked: number;
  retransmittedFrames: number;
  ptoCount: number;
  /** Packets of this path that were lost and restored by FEC at our end. */
  fecRestored: number;
  fecRepairsSent: number;
  /** Running totals of the peer's LOSS_REPORTs for this path (raw, before FEC and ARQ). */
  reportedReceived: number;
  reportedLost: number;
}

/**
 * Everything one path knows about itself: its packet number space (RFC 9000 §12.3, one per
 * path as in multipath QUIC), what is in flight, RTT, congestion control and pacing, what was
 * received and owes an ACK, and the anti-replay window. The session owns the paths and decides
 * what goes on which.
 */
export class Path {
  nextPn = 0;
  readonly history = new SentHistory();
  readonly rtt: RttEstimator;
  readonly cc: CongestionController;
  readonly pacer: Pacer;
  readonly rate = new DeliveryRateEstimator();
  readonly received: ReceivedTracker;
  readonly replay = new ReplayWindow();
  /** Its deadlines, armed by the session (see timers.ts). */
  readonly timers = new TimerTable(PATH_TIMER_COUNT);
  bytesInFlight = 0;
  /** Ack-eliciting packets in flight (PTO is armed while nonzero). */
  elicitingInFlight = 0;
  largestAcked = -1;
  lossTime: Millis = Infinity;
  /** Probe timeouts since something on this path was last acknowledged. */
  unansweredPtos = 0;
  /** A bare PING is owed: the path is silent after a probe timeout. */
  silencePingDue = false;
  lastElicitingSentAt: Millis = -Infinity;
  lastReceivedAt: Millis = -Infinity;
  lastSentAt: Millis = -Infinity;
  /** When this path last carried data of a live stream, and of a bulk one, and which streams. */
  private liveSentAt: Millis = -Infinity;
  private liveStream = -1;
  private bulkSentAt: Millis = -Infinity;
  private bulkStream = -1;
  /** Packets with a PING that must go out on this path (probe timeout, keepalive, validation). */
  probesPending = 0;
  /** Raw loss of what the peer sends us on this path, reported back in LOSS_REPORT. */
  readonly lossMeter = new LossMeter();
  lossReportDueAt: Millis = Infinity;
  /** Raw loss of what we send on this path, from the peer's reports. */
  readonly lossEstimate = new LossEstimate();
  /**
   * How many packets the most overtaken packet arrived behind, as the peer reports it, fading 10%
   * a report: packets the path's jitter holds back, which the window must leave room for.
   */
  reorderDistance = 0;
  /** Packet numbers FEC restored lately: only their late originals count as arrivals. */
  private readonly restoredPns = new Float64Array(RESTORED_REMEMBERED).fill(-1);
  private restoredNext = 0;
  /** Extra time threshold learnt from spurious losses. */
  readonly reorderWindow = new ReorderWindow();
  /**
   * validating: not yet proven (a PATH_CHALLENGE is out); up: in use; down: went silent, only
   * probed with PATH_CHALLENGE until it answers.
   */
  state: 'validating' | 'up' | 'down' = 'validating';
  /**
   * The PATH_CHALLENGE data we wait to see echoed (the latest few: an echo of any proves the
   * path, since a re-sent challenge may go out before the first one's echo is back), and when to
   * (re)send one.
   */
  challenges: Uint8Array[] = [];
  challengeDueAt: Millis = Infinity;
  /** A PATH_CHALLENGE from the peer to echo on this path. */
  responsePending: Uint8Array | null = null;
  /** The peer's address on this path and its validated moves (NAT rebinding). */
  readonly migration: PathMigration;
  /** Last time an ACK newly acknowledged something sent on this path. */
  lastAckProgressAt: Millis = -Infinity;
  downSince: Millis = Infinity;
  readonly counters: PathCounters = {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    packetsLost: 0,
    packetsAcked: 0,
    retransmittedFrames: 0,
    ptoCount: 0,
    fecRestored: 0,
    fecRepairsSent: 0,
    reportedReceived: 0,
    reportedLost: 0,
  };

  constructor(
    readonly id: number,
    readonly config: PathConfig,
  ) {
    this.rtt = new RttEstimator(config.initialRttMs);
    this.migration = new PathMigration(this.rtt, config.maxAckDelayMs);
    this.cc = new BbrController({
      mss: config.mtu,
      initialCwndPackets: config.initialCwndPackets,
      initialRate: config.initialRate,
      initialRtt: config.initialRttMs,
      maxRate: config.maxRate,
    });
    this.pacer = new Pacer(PACER_BURST_MS, 2 * config.mtu);
    this.received = new ReceivedTracker(config.ackEveryPackets, config.maxAckDelayMs);
  }

  /** Records a packet number FEC restored. */
  noteRestored(pn: number): void {
    this.restoredPns[this.restoredNext] = pn;
    this.restoredNext = (this.restoredNext + 1) % RESTORED_REMEMBERED;
  }

  /**
   * Whether a duplicate of `pn` is the late original of a packet FEC restored (once each): a
   * verbatim replay of a packet that arrived is not, and must not move the loss measurement.
   */
  takeRestored(pn: number): boolean {
    const i = this.restoredPns.indexOf(pn);
    if (i < 0) return false;
    this.restoredPns[i] = -1;
    return true;
  }

  /** Folds in the peer's largest observed reordering distance; old reordering fades slowly. */
  onReorderReport(reorder: number): void {
    this.reorderWindow.onReport();
    this.reorderDistance = Math.max(reorder, Math.floor(this.reorderDistance * 0.9));
  }

  /**
   * Packets a later acknowledged packet must overtake for an earlier one to count as lost: 3
   * (RFC 9002 §6.1.1), raised to the reordering the peer reports, so a path that reorders does not
   * trigger spurious retransmissions (as RACK adapts). Judging by time alone on such paths (RACK,
   * RFC 8985 §6.2) was tried: losses on long paths were called an eighth of an RTT later, and a
   * 232 ms path's stream ran +695 ms over its one-way delay instead of +313.
   */
  get packetThreshold(): number {
    return Math.max(PACKET_THRESHOLD, this.reorderDistance + 1);
  }

  /** Carries traffic: up, with a proven peer address (only a challenge goes to an unproven one). */
  get isUp(): boolean {
    return this.state === 'up' && !this.migration.holdsTraffic;
  }

  /** Its ACKs ride on another path: it is down, or its peer address is being proven. */
  get acksElsewhere(): boolean {
    return this.state === 'down' || this.migration.holdsTraffic;
  }

  /**
   * When this path counts as silent: it has data in flight, the third packet sent after the
   * largest one acknowledged is overdue (a smoothed RTT plus the ACK delay since it left), and
   * nothing arrived on it nor was acknowledged for a margin of four RTT deviations plus a quarter
   * RTT since. A busy path ACKs every few milliseconds, so that much quiet after an ACK was due
   * means the path is dark; a congested one keeps ACKing, only later. Infinity when idle.
   *
   * Not the oldest packet outstanding, nor the first after the largest acknowledged: either may
   * be a loss not yet declared, whose ACK never comes, and after a pause in sending (a drain
   * after start-up) no ACK is due until a packet after the pause has had its round trip. Timed
   * from them, a 120 ms path losing 3% that start-up's drain had left idle for 300 ms, its last
   * packet before the pause lost, was taken down 100 ms after it resumed, and everything in
   * flight on it was sent again on the other paths. A busy path sends the third packet a moment
   * after the first, so a dark one fails over as fast as before.
   */
  silenceDeadline(): Millis {
    if (this.state !== 'up' || this.elicitingInFlight === 0) return Infinity;
    const awaited = (this.largestAcked >= 0 ? this.history.nthFrom(this.largestAcked + 1, AWAITED_NTH_PACKET, AWAITED_SCAN_PACKETS) : undefined) ?? this.history.oldest();
    const ackDue = awaited === undefined ? -Infinity : awaited.timeSent + this.rtt.smoothed + this.config.maxAckDelayMs;
    const since = Math.max(this.lastAckProgressAt, this.lastReceivedAt, ackDue);
    return since + Math.max(MIN_SILENCE_MS, 4 * this.rtt.variance + this.rtt.smoothed / 4);
  }

  /** A packet with a PING is owed (keep-alive, validation, migration), unless one already is. */
  owePing(): void {
    if (this.probesPending === 0) this.probesPending = 1;
  }

  noteLiveSent(now: Millis, streamId: number): void {
    this.liveSentAt = now;
    this.liveStream = streamId;
  }

  noteBulkSent(now: Millis, streamId: number): void {
    this.bulkSentAt = now;
    this.bulkStream = streamId;
  }

  /**
   * Whether a live stream's data and another stream's bulk data both crossed this path within the
   * last round trip (or 100 ms on a short path): its congestion controller then starts up gently,
   * since the download's start-up overshoot drops the live stream's packets along with its own.
   * Another stream: a live stream read from TCP in bursts is backlogged for a moment now and then.
   */
  carriesLiveBesideBulk(now: Millis): boolean {
    const window = Math.max(LIVE_TRAFFIC_WINDOW_MS, this.rtt.smoothed);
    return now - this.liveSentAt <= window && now - this.bulkSentAt <= window && this.liveStream !== this.bulkStream;
  }

  /** Room in the congestion window for another full-size packet. */
  get hasCwndRoom(): boolean {
    return this.bytesInFlight + this.config.mtu <= this.cc.cwnd;
  }

  /**
   * Probe timeout deadline, or Infinity when nothing ack-eliciting is in flight; once one went
   * unanswered, when the next silence ping is due.
   */
  ptoDeadline(): Millis {
    if (this.elicitingInFlight === 0) return Infinity;
    if (this.unansweredPtos === 0) return this.lastElicitingSentAt + this.rtt.pto(this.config.maxAckDelayMs);
    return this.lastElicitingSentAt + Math.min(SILENCE_PING_MAX_MS, Math.max(SILENCE_PING_MIN_MS, this.rtt.smoothed / 4));
  }

  /** RFC 9002 §6.1.2 time threshold, widened by the reordering window. */
  lossDelay(): Millis {
    return Math.max((9 / 8) * Math.max(this.rtt.smoothed, this.rtt.latest), 1) + this.reorderWindow.extraMs;
  }
}
