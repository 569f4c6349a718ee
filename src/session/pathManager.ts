import type { Millis } from '../base/time.ts';
import type { PathId } from './api.ts';
import type { SessionConfig } from './config.ts';
import type { EventQueue } from './events.ts';
import { Path, type PathCounters } from './path.ts';
import type { PeerAddress } from './pathValidation.ts';
import type { Recovery } from './recovery/recovery.ts';
import { PathTimer } from './timers.ts';

/** How often the receiver reports a path's raw loss. */
export const LOSS_REPORT_INTERVAL_MS = 200;
/**
 * How far a sender woken late by its host may catch up on its pacing (Pacer.onSend): as much as
 * BBR lets ACK aggregation add to the window (bbr.ts, EXTRA_ACKED_MAX_MS). After a longer stall
 * the delivery samples are marked app-limited instead: they show what the host let through.
 */
const CATCH_UP_MS = 100;
/** A path dark this long is learned afresh (start-up) when it returns; a blip keeps its model. */
const PATH_RELEARN_AFTER_MS = 1000;

function mbpsToBytesPerMs(mbps: number): number {
  return mbps > 0 ? (mbps * 1000) / 8 : Infinity;
}

/** One path's figures for metrics and tests. */
export interface PathStats {
  id: PathId;
  up: boolean;
  state: 'validating' | 'up' | 'down';
  srttMs: number;
  minRttMs: number;
  cwnd: number;
  pacingRateMbps: number;
  bytesInFlight: number;
  randomLossRate: number;
  /** Raw loss of this path as the peer reports it (what FEC is sized by). */
  reportedLossRate: number;
  reportedMeanBurst: number;
  /** Packets the peer's loss reports covered so far; 0: the two figures above are still the prior. */
  lossMeasuredPackets: number;
  ccState: string;
  /** The congestion controller's model: what a collapse in the field is diagnosed from. */
  model: { bottleneckMbps: number; delayFloorMs: number; appLimited: boolean; lossTimeThresholdMs: number; reorderWindowMs: number; packetThreshold: number; reorderPackets: number };
  /** Times the peer's address on this path changed (validated: NAT rebinding). */
  addressMoves: number;
  counters: PathCounters;
}

/**
 * The session's paths and their lifecycle, beside the scheduler that picks among them:
 * validating -> up -> down (silent) -> up (its challenge answered), PATH_CHALLENGE and
 * PATH_RESPONSE, failover, and each path's timers. Raises pathUp, pathDown and pathMoved.
 */
export class PathManager {
  /** Paths by id: the dialer's from the start, the listener's as the dialer's packets show them. */
  readonly all: (Path | undefined)[] = [];
  /** Listener: the handshake's source, trusted as a path's first address. */
  private handshakeFrom: { from: PeerAddress; local: number } | null = null;

  constructor(
    private readonly config: SessionConfig,
    private readonly recovery: Recovery,
    private readonly events: EventQueue,
  ) {}

  /** Listener: the address the handshake came from needs no proof on the paths that start there. */
  trustFirstAddress(from: PeerAddress, local: number): void {
    this.handshakeFrom = { from, local };
  }

  get(pathId: PathId): Path | undefined {
    return this.all[pathId];
  }

  /** The path with this id, created (validating) on first sight. */
  pathFor(pathId: PathId): Path {
    let path = this.all[pathId];
    if (path === undefined) {
      path = new Path(pathId, {
        mtu: this.config.mtu,
        initialRttMs: this.config.initialRttMs,
        maxAckDelayMs: this.config.maxAckDelayMs,
        ackEveryPackets: this.config.ackEveryPackets,
        initialCwndPackets: this.config.initialCwndPackets,
        initialRate: this.config.initialRateMbps > 0 ? mbpsToBytesPerMs(this.config.initialRateMbps) : 0,
        maxRate: mbpsToBytesPerMs(this.config.paths[pathId]?.maxRateMbps ?? this.config.maxRateMbps),
        backup: this.config.paths[pathId]?.backup ?? false,
      });
      if (this.handshakeFrom !== null) path.migration.trust(this.handshakeFrom.from, this.handshakeFrom.local);
      this.all[pathId] = path;
    }
    return path;
  }

  /** Ids of every path, in order. */
  ids(): PathId[] {
    return this.all.filter((p): p is Path => p !== undefined).map((p) => p.id);
  }

  /** Ids of the paths that carry traffic now. */
  upIds(): PathId[] {
    return this.all.filter((p): p is Path => p !== undefined && p.isUp).map((p) => p.id);
  }

  /** The highest smoothed RTT among the paths up (the initial RTT when none is): a stream's data may cross any of them. */
  slowestSmoothedRtt(): Millis {
    let rtt = 0;
    for (const p of this.all) if (p !== undefined && p.isUp && p.rtt.smoothed > rtt) rtt = p.rtt.smoothed;
    return rtt > 0 ? rtt : this.config.initialRttMs;
  }

  /** The path of lowest smoothed RTT among those up, or null. */
  fastestUp(): Path | null {
    let best: Path | null = null;
    for (const p of this.all) if (p !== undefined && p.isUp && (best === null || p.rtt.smoothed < best.rtt.smoothed)) best = p;
    return best;
  }

  /**
   * An authentic packet `pn` of `length` bytes on `path`, from `from` on socket `local` (none
   * when FEC `restored` it). False when it is a duplicate: the replay window had it already.
   */
  onAuthentic(now: Millis, path: Path, pn: number, length: number, restored: boolean, from: PeerAddress | undefined, local: number): boolean {
    const newest = pn > path.replay.highest;
    if (!path.replay.accept(pn)) {
      // A duplicate from the path's address still shows the peer is there (it drops a candidate).
      path.migration.onAuthentic(now, from, local, false, length, path.state === 'down');
      // Authentic but seen before: a late original of a packet FEC restored, or a replay. Never
      // evidence of where the peer is, so not reported as accepted. A late original did cross
      // the wire: left out of the raw-loss count, it would be counted lost, and FEC would buy
      // repairs against loss that never happened (groups spanning a fast and a slow path restore
      // the slow path's packets before they land). A replay of a packet that did arrive is not
      // counted: it would read the loss as lower than it is, and re-arm the loss report.
      if (!restored && path.takeRestored(pn)) this.countArrival(now, path, pn, length);
      return false;
    }
    path.lastReceivedAt = now;
    // A candidate address proposed itself: the peer, if still at the current one, answers a PING from there.
    if (path.migration.onAuthentic(now, from, local, newest, length, path.state === 'down')) path.owePing();
    if (restored) {
      path.counters.fecRestored++;
      path.noteRestored(pn);
    } else this.countArrival(now, path, pn, length);
    return true;
  }

  /** A packet that crossed the wire on `path` (not one FEC restored): raw-loss accounting. */
  private countArrival(now: Millis, path: Path, pn: number, length: number): void {
    path.counters.packetsReceived++;
    path.counters.bytesReceived += length;
    path.lossMeter.onPacket(pn);
    if (path.lossReportDueAt === Infinity) path.lossReportDueAt = now + LOSS_REPORT_INTERVAL_MS;
  }

  /** The host woke the session `lateMs` late: every pacer may catch up on what it owed. */
  excuseHostLateness(now: Millis, lateMs: Millis): void {
    for (const path of this.all) {
      if (path === undefined) continue;
      path.pacer.excuseLateness(now, Math.min(lateMs, CATCH_UP_MS));
      // What is delivered until what is in flight now is acknowledged shows what the host let through.
      if (lateMs > CATCH_UP_MS) path.rate.onAppLimited(path.bytesInFlight);
    }
  }

  /** Keep-alive: every path owes a PING. */
  pingAll(): void {
    for (const path of this.all) if (path !== undefined) path.owePing();
  }

  /**
   * Puts `path` in use; true when it was not up before (the caller re-sizes FEC). A path dark for
   * over {@link PATH_RELEARN_AFTER_MS} restarts its congestion control.
   */
  markUp(path: Path, now: Millis): boolean {
    if (path.state === 'up') return false;
    const darkFor = now - path.downSince;
    path.state = 'up';
    path.downSince = Infinity;
    path.lastAckProgressAt = now;
    path.challengeDueAt = Infinity;
    if (darkFor >= PATH_RELEARN_AFTER_MS) {
      // Conditions may have changed while it was dark: learn the path afresh.
      path.cc.reset();
      path.pacer.reset();
      path.unansweredPtos = 0;
    }
    this.events.push({ type: 'pathUp', pathId: path.id });
    return true;
  }

  /**
   * Fails a silent path over: everything in flight on it is sent again on the others at once,
   * and it is only probed (PATH_CHALLENGE) until it answers.
   */
  markDown(path: Path, now: Millis, reason: string): void {
    if (path.state === 'down') return;
    path.state = 'down';
    path.downSince = now;
    this.recovery.abandon(path);
    path.probesPending = 0;
    path.silencePingDue = false;
    path.challengeDueAt = now;
    this.events.push({ type: 'pathDown', pathId: path.id, reason });
  }

  /** The peer's PATH_CHALLENGE arrived on `path`: echo it there. */
  onChallenge(path: Path, data: Uint8Array): void {
    path.responsePending = Uint8Array.from(data);
  }

  /**
   * A PATH_RESPONSE arrived on `path`: it proves a new address (the path moves there) or answers
   * our challenge of the path. True when the path came up (the caller re-sizes FEC).
   */
  onResponse(path: Path, data: Uint8Array, now: Millis): boolean {
    const moves = path.migration.moves;
    if (path.migration.onResponse(data)) {
      // A path's first address proven is its start, not a move (the logs said "moved" for it).
      if (path.migration.moves > moves) this.events.push({ type: 'pathMoved', pathId: path.id });
      // The echo proves the new address reaches the peer both ways.
      return this.markUp(path, now);
    }
    if (!path.challenges.some((expected) => expected.every((b, i) => b === data[i]))) return false;
    path.challenges.length = 0;
    path.challengeDueAt = Infinity;
    return this.markUp(path, now);
  }

  /**
   * When `path` fails over for silence: only while another path is up to take its traffic. The
   * last path up is never declared down: that would only stop sending, and it would then be
   * probed every 500 ms; the probe timeout's backoff keeps re-sending instead. On a 19 ms path
   * with bursty loss, a run that took seven ACKs in a row failed the only path over, and a 7 Mbit/s
   * stream stopped for 550 ms.
   */
  private silenceDeadline(path: Path): Millis {
    for (const p of this.all) if (p !== undefined && p !== path && p.isUp) return path.silenceDeadline();
    return Infinity;
  }

  // ---------------------------------------------------------------- timers

  /**
   * Arms every path's timers; `wantsToSend`: the session has data or repairs waiting, so a path
   * with window left wakes at its pacer's release, unless it was already released when output was
   * last polled at `polledAt` and the scheduler passed it over (a slower path kept for later):
   * the next ACK or another path's release reconsiders it, where a timer already due would wake
   * the host at once, again and again.
   */
  armTimers(wantsToSend: boolean, polledAt: Millis): void {
    for (const path of this.all) {
      if (path === undefined) continue;
      const release = path.pacer.releaseTime();
      for (let slot = 0; slot < PathTimer.Pacing; slot++) path.timers.set(slot, this.deadline(path, slot as PathTimer));
      const paced = path.responsePending !== null || (path.isUp && (path.probesPending > 0 || (wantsToSend && path.hasCwndRoom && release > polledAt)));
      path.timers.set(PathTimer.Pacing, paced ? release : Infinity);
    }
  }

  /**
   * The earliest pacer release among the paths up with window left (Infinity: none); with
   * `polledAt`, only releases after it (a path free at that poll was passed over by the scheduler).
   */
  sendableAt(polledAt: Millis | null = null): Millis {
    let at = Infinity;
    for (const path of this.all) {
      if (path === undefined || !path.isUp || !path.hasCwndRoom) continue;
      const release = path.pacer.releaseTime();
      if ((polledAt === null || release > polledAt) && release < at) at = release;
    }
    return at;
  }

  /** While handshaking no path has anything to time. */
  stopTimers(): void {
    for (const path of this.all) path?.timers.stopAll();
  }

  /** The earliest of the paths' armed timers. */
  nextTimeout(): Millis {
    let t = Infinity;
    for (const path of this.all) if (path !== undefined) t = Math.min(t, path.timers.next());
    return t;
  }

  /** Serves the paths' due timers: failover, loss detection, probe timeouts, migration. */
  handleTimeout(now: Millis): void {
    for (const path of this.all) {
      if (path === undefined) continue;
      // Each slot is re-armed just before it is judged: what fired before it (another path going
      // down, losses declared) moves its deadline.
      if (this.due(path, PathTimer.Silence, now)) {
        this.markDown(path, now, 'silent: nothing received or acknowledged after a probe timeout');
        continue;
      }
      if (this.due(path, PathTimer.Loss, now)) this.recovery.detectLosses(path, now);
      if (this.due(path, PathTimer.Pto, now)) this.recovery.onProbeTimeout(path, now);
      if (this.due(path, PathTimer.Migration, now)) path.migration.handleTimeout(now);
    }
  }

  private due(path: Path, slot: PathTimer, now: Millis): boolean {
    path.timers.set(slot, this.deadline(path, slot));
    return path.timers.expired(slot, now);
  }

  private deadline(path: Path, slot: PathTimer): Millis {
    switch (slot) {
      case PathTimer.Silence:
        return this.silenceDeadline(path);
      case PathTimer.Loss:
        return path.lossTime;
      case PathTimer.Pto:
        return path.ptoDeadline();
      case PathTimer.Migration:
        return path.migration.nextTimeout();
      case PathTimer.Ack:
        return path.received.ackDeadline;
      case PathTimer.LossReport:
        return path.lossReportDueAt;
      case PathTimer.Challenge:
        return path.challengeDueAt;
      default:
        return Infinity;
    }
  }

  // ---------------------------------------------------------------- stats

  stats(): PathStats[] {
    return this.all
      .filter((p) => p !== undefined)
      .map((p) => ({
        id: p.id,
        up: p.isUp,
        state: p.state,
        srttMs: p.rtt.smoothed,
        minRttMs: p.rtt.min,
        cwnd: p.cc.cwnd,
        pacingRateMbps: (p.cc.pacingRate * 8) / 1000,
        bytesInFlight: p.bytesInFlight,
        randomLossRate: p.cc.randomLossRate,
        reportedLossRate: p.lossEstimate.lossRate,
        reportedMeanBurst: p.lossEstimate.meanBurst,
        lossMeasuredPackets: p.lossEstimate.packets,
        ccState: p.cc.state,
        model: {
          bottleneckMbps: (p.cc.bottleneckBandwidth * 8) / 1000,
          delayFloorMs: p.cc.delayFloorMs,
          appLimited: p.rate.isAppLimited,
          lossTimeThresholdMs: p.lossDelay(),
          reorderWindowMs: p.reorderWindow.extraMs,
          packetThreshold: p.packetThreshold,
          reorderPackets: p.reorderDistance,
        },
        addressMoves: p.migration.moves,
        counters: { ...p.counters },
      }));
  }
}
