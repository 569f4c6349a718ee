import type { Millis } from '../base/time.ts';
import type { Rng } from '../base/rng.ts';
import { ByteWriter } from '../wire/bytes.ts';
import {
  encodeAck,
  encodeClose,
  encodeFecSource,
  encodeLossReport,
  encodePathChallenge,
  encodePathResponse,
  encodePing,
  encodeRepair,
} from '../wire/frames.ts';
import type { SendKeys } from '../wire/keyUpdate.ts';
import { DATA_OVERHEAD } from '../wire/packet.ts';
import type { SentFrame, SentPacket } from './ack/sentPacket.ts';
import type { Transmit } from './api.ts';
import type { SessionConfig } from './config.ts';
import type { FecEncoder, SendGroup } from './fec/encoder.ts';
import type { FecLaneController } from './fec/laneController.ts';
import type { Path } from './path.ts';
import type { PathManager } from './pathManager.ts';
import type { Recovery } from './recovery/recovery.ts';
import { writeStreamFrames } from './stream/frameWriter.ts';
import type { Streams } from './stream/streams.ts';

const MAX_ACK_RANGES = 32;
/** Repair packets carry a whole datagram plus the REPAIR header: they may exceed the data MTU by this much. */
const REPAIR_HEADROOM = 48;
/** Challenges of a path whose echo still counts (see `Path.challenges`). */
const OUTSTANDING_CHALLENGES = 4;
/** The wait after a never-validated path's first challenge; doubled for each one after. */
const FIRST_CHALLENGE_WAIT_MS = 100;

/**
 * Assembles and seals packets (quinn-proto's `PacketBuilder`): which frames go in each kind of
 * packet, in what order, numbered in the path's packet number space and sealed under the current
 * key; ack-eliciting packets are handed to recovery. One scratch buffer serves every packet; the
 * sealed datagram is a fresh buffer that belongs to the caller. Which packet goes when and on
 * which path is the session's decision.
 */
export class PacketBuilder {
  private readonly plain: Uint8Array;
  private readonly writer: ByteWriter;
  private readonly repairWriter: ByteWriter;
  private readonly ackRanges: Array<[number, number]> = [];

  constructor(
    private readonly config: SessionConfig,
    private readonly sealer: SendKeys,
    private readonly paths: PathManager,
    private readonly streams: Streams,
    private readonly recovery: Recovery,
    private readonly fecEncoder: FecEncoder | null,
    private readonly fecLanes: FecLaneController | null,
    private readonly rng: Rng,
  ) {
    this.plain = new Uint8Array(config.mtu + REPAIR_HEADROOM - DATA_OVERHEAD);
    this.writer = new ByteWriter(this.plain.subarray(0, config.mtu - DATA_OVERHEAD));
    this.repairWriter = new ByteWriter(this.plain);
  }

  /** Only the ACKs (and loss reports) owed for `carrier` and the paths whose ACKs it carries. Not tracked. */
  ack(now: Millis, carrier: Path): Transmit {
    const w = this.begin(this.writer);
    this.writeAcks(now, w, carrier);
    return this.finish(now, carrier, w, null, null);
  }

  /**
   * An ack-eliciting packet for `path`: ACKs for every path with news, a PING if one is owed,
   * the streams' control frames, retransmissions (when `retransmit`) and new data round-robin,
   * protected by FEC when it carries stream data and its lane has FEC.
   */
  data(now: Millis, path: Path, retransmit: boolean): Transmit {
    const w = this.begin(this.writer);
    this.writeAcks(now, w, path);
    const frames: SentFrame[] = [];
    // Only stream data is worth repairs: a lone PING or window update is cheaper to resend.
    const carriesData = this.streams.retransmitQueue.size > 0 || this.streams.hasNewWork;
    // The first stream the packet carries picks its FEC lane and tells the path what it carries.
    const first = carriesData ? this.streams.nextToSend() : undefined;
    const fec = carriesData ? (this.fecLanes?.assign(now, first) ?? null) : null;
    if (fec !== null) encodeFecSource(w, fec.group.id, fec.index);
    if (path.probesPending > 0) {
      encodePing(w);
      path.probesPending--;
    }
    if (first !== undefined) {
      // A download: its writer was refused room, or has more waiting than a live stream keeps (on
      // real relays a new download's writer fills the send buffer for up to a second before it is
      // refused). Live: a stream its source paces that keeps up with it (Stream.isLive).
      if (!first.isSourcePaced || first.isBacklogged) path.noteBulkSent(now, first.id);
      else if (first.isLive(now)) path.noteLiveSent(now, first.id);
    }
    writeStreamFrames(now, w, this.streams, frames, retransmit);
    if (frames.length === 0 && w.pos === 0) encodePing(w);
    const t = this.finish(now, path, w, frames, fec?.group ?? null);
    if (fec !== null) this.fecEncoder!.addSource(fec.group, fec.index, t.bytes);
    return t;
  }

  /** A bare PING (and any ACKs owed) to hear from a silent path; ack-eliciting, no stream data. */
  ping(now: Millis, path: Path): Transmit {
    const w = this.begin(this.writer);
    this.writeAcks(now, w, path);
    encodePing(w);
    path.silencePingDue = false;
    return this.finish(now, path, w, [], null);
  }

  /** A packet carrying the next queued repair symbol (and any ACKs owed); ack-eliciting. */
  repair(now: Millis, path: Path, encoder: FecEncoder): Transmit {
    const w = this.begin(this.repairWriter);
    const { group, index } = encoder.peekRepair(now)!;
    encodeRepair(w, group.id, index, group.finalK, group.repairs.length, group.repairs[index]);
    this.writeAcks(now, w, path);
    path.counters.fecRepairsSent++;
    const t = this.finish(now, path, w, [], null);
    const spacing = (group.params.depth * this.config.mtu) / path.cc.pacingRate;
    encoder.onRepairSent(group, now, spacing, this.nextPns);
    return t;
  }

  /** PATH_RESPONSE owed on this path and/or a PATH_CHALLENGE to (re)validate it. Never held by cwnd. */
  pathProbe(now: Millis, path: Path): Transmit {
    const w = this.begin(this.writer);
    this.writeAcks(now, w, path);
    if (path.responsePending !== null) {
      encodePathResponse(w, path.responsePending);
      path.responsePending = null;
    }
    if (path.challengeDueAt <= now) {
      const challenge = new Uint8Array(8);
      this.rng.fill(challenge);
      if (path.challenges.push(challenge) > OUTSTANDING_CHALLENGES) path.challenges.shift();
      encodePathChallenge(w, challenge);
      path.challengeDueAt = now + this.challengeWait(path);
    }
    return this.finish(now, path, w, null, null);
  }

  /**
   * A PATH_CHALLENGE to the address proposed for `path` (and an owed PATH_RESPONSE): the only
   * packet that goes there before it answers, within the amplification limit.
   */
  migrationProbe(now: Millis, path: Path): Transmit {
    const w = this.begin(this.writer);
    if (path.responsePending !== null) {
      encodePathResponse(w, path.responsePending);
      path.responsePending = null;
    }
    const challenge = new Uint8Array(8);
    this.rng.fill(challenge);
    encodePathChallenge(w, challenge);
    const t = this.finish(now, path, w, null, null);
    path.migration.onChallengeSent(now, challenge, t.bytes.length, path.rtt.pto(this.config.maxAckDelayMs));
    return t;
  }

  /** CLOSE with `code` and `reason` on `path`. */
  close(now: Millis, path: Path, code: number, reason: string): Transmit {
    const w = this.begin(this.writer);
    encodeClose(w, code, reason);
    return this.finish(now, path, w, null, null);
  }

  /**
   * How long a challenge waits for its echo before the next: a path never up yet is retried after
   * 100, 200, then 400 ms (then the probe interval), so that a lost first challenge does not leave
   * a second path unused for the first half second. A random path (2 ms at 43 Mbit/s beside an
   * uncapped 78 ms path losing 6% in bursts) lost its first two challenges there: the 60 Mbit/s
   * stream waited 1.1 s for its second path and queued 430 ms in the sender. A path that went
   * down is probed at the probe interval.
   */
  private challengeWait(path: Path): Millis {
    if (path.state !== 'validating') return this.config.pathProbeIntervalMs;
    return Math.min(this.config.pathProbeIntervalMs, FIRST_CHALLENGE_WAIT_MS << (path.challenges.length - 1));
  }

  private readonly nextPns = (): number[] => this.paths.all.map((p) => (p === undefined ? 0 : p.nextPn));

  private begin(w: ByteWriter): ByteWriter {
    w.pos = 0;
    return w;
  }

  /** ACKs owed for `carrier` (and for paths that are down), and raw-loss reports that are due. */
  private writeAcks(now: Millis, w: ByteWriter, carrier: Path): void {
    for (const p of this.paths.all) {
      if (p === undefined || (p !== carrier && !p.acksElsewhere)) continue;
      if (p.received.hasNewInfo && w.remaining >= 64) {
        const ranges = p.received.ranges(this.ackRanges, MAX_ACK_RANGES);
        encodeAck(w, p.id, p.received.ackDelayMicros(now), ranges, MAX_ACK_RANGES);
        p.received.onAckSent();
      }
      if (p.lossReportDueAt <= now && w.remaining >= 32) {
        const m = p.lossMeter;
        encodeLossReport(w, p.id, m.received, m.lost, m.bursts, m.reorder);
        p.received.setLossy(m.lost > 0);
        m.reset();
        p.lossReportDueAt = Infinity;
      }
    }
  }

  /** Seals the packet in the scratch buffer; `frames` null means not ack-eliciting, not tracked. */
  private finish(now: Millis, path: Path, w: ByteWriter, frames: SentFrame[] | null, fecGroup: SendGroup | null): Transmit {
    const pn = path.nextPn++;
    const bytes = this.sealer.seal(path.id, pn, this.plain.subarray(0, w.pos), fecGroup !== null);
    this.fecEncoder?.onPacketSent();
    path.counters.packetsSent++;
    path.counters.bytesSent += bytes.length;
    path.lastSentAt = now;
    if (frames !== null) {
      const packet: SentPacket = {
        pn,
        timeSent: now,
        size: bytes.length,
        ackEliciting: true,
        frames,
        delivered: 0,
        deliveredTime: 0,
        firstSentTime: 0,
        isAppLimited: false,
        fecGroup,
      };
      // Checked before the packet is stamped, as Linux does when the write queue runs empty: the
      // first packet after a quiet spell (a flow-control update or keep-alive from the side that
      // only receives) was stamped a full sample, three of them ended start-up, and the estimate
      // that came back up the other way was 0.01 Mbit/s (real relays: 100 MiB up after 100 MiB down).
      if (!this.streams.hasElicitingWork && path.hasCwndRoom) path.rate.onAppLimited(path.bytesInFlight + bytes.length);
      this.recovery.onPacketSent(now, path, packet);
    }
    return { pathId: path.id, bytes };
  }
}
