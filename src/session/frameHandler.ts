import type { Millis } from '../base/time.ts';
import type { Control } from '../wire/control.ts';
import { decodeFrames, type FrameVisitor } from '../wire/frames.ts';
import { CloseCode } from './closeCode.ts';
import type { FecDecoder } from './fec/decoder.ts';
import type { FecLaneController } from './fec/laneController.ts';
import type { Path } from './path.ts';
import { LOSS_REPORT_INTERVAL_MS, type PathManager } from './pathManager.ts';
import { AckOutcome, type Recovery } from './recovery/recovery.ts';
import type { Streams, Violation } from './stream/streams.ts';
import { StreamStage } from './streamProbe.ts';

/**
 * One authentic packet's receive context: what its frames are handled in (`now`, the `path` it
 * arrived on) and what they tell the receive path back. One per session, reused for every packet.
 */
export class RxContext {
  now: Millis = 0;
  path!: Path;
  /** A frame asked for an ACK. */
  eliciting = false;
  /** FEC restored the packet: it did not cross the wire as such. */
  restored = false;
  /** FEC_SOURCE: the group and index protecting this packet (-1: none). */
  fecGroup = -1;
  fecIndex = -1;

  /** Starts the context for a packet that arrived at `now` on `path` (or that FEC `restored`). */
  start(now: Millis, path: Path, restored: boolean): void {
    this.now = now;
    this.path = path;
    this.restored = restored;
    this.eliciting = false;
    this.fecGroup = -1;
    this.fecIndex = -1;
  }
}

/** What frames do to the session itself. */
export interface SessionControl {
  /** The peer broke the protocol: close with `code` (see {@link CloseCode}). */
  readonly violation: Violation;
  /** CLOSE arrived: the session ends. */
  peerClosed(reason: string): void;
}

/**
 * The session's frame handler (quinn-proto's `process_payload`): dispatches each decoded frame of
 * an authentic packet to the module that owns it (streams, recovery, paths, FEC), within the
 * packet's {@link RxContext}. Owned privately by the session; frames cannot reach it otherwise.
 */
export class FrameHandler implements FrameVisitor {
  private readonly ctx = new RxContext();

  constructor(
    private readonly streams: Streams,
    private readonly recovery: Recovery,
    private readonly paths: PathManager,
    private readonly fecDecoder: FecDecoder | null,
    private readonly fecLanes: FecLaneController | null,
    /** Where datagrams FEC restored wait to go through the receive path. */
    private readonly restored: Uint8Array[],
    private readonly session: SessionControl,
  ) {}

  /**
   * Handles the frames of a packet that arrived at `now` on `path` (or that FEC `restored`), and
   * returns what they said (the context, valid until the next call). Throws WireError on a
   * malformed frame.
   */
  handle(now: Millis, path: Path, payload: Uint8Array, restored: boolean): RxContext {
    this.ctx.start(now, path, restored);
    decodeFrames(payload, this);
    return this.ctx;
  }

  onPing(): void {
    this.ctx.eliciting = true;
  }

  onAck(pathId: number, ackDelayMicros: number, ranges: ReadonlyArray<readonly [number, number]>): void {
    const path = this.paths.get(pathId);
    if (path === undefined || ranges.length === 0) return;
    const outcome = this.recovery.onAck(this.ctx.now, path, ranges, ackDelayMicros, this.ctx.path === path);
    if (outcome === AckOutcome.Invalid) this.session.violation(CloseCode.ProtocolViolation, `ACK of unsent packet ${ranges[0][1]} on path ${pathId}`);
    else if (outcome === AckOutcome.Progress) this.streams.wakeBlockedWriters();
  }

  onStream(streamId: number, offset: number, fin: boolean, data: Uint8Array): void {
    this.ctx.eliciting = true;
    this.streams.probe?.onBytes(this.ctx.restored ? StreamStage.Restored : StreamStage.Arrived, streamId, offset, offset + data.length);
    this.streams.onStream(streamId, offset, fin, data);
  }

  onResetStream(streamId: number, errorCode: number, finalSize: number): void {
    this.ctx.eliciting = true;
    this.streams.onResetStream(streamId, errorCode, finalSize);
  }

  onStopSending(streamId: number, errorCode: number): void {
    this.ctx.eliciting = true;
    this.streams.onStopSending(streamId, errorCode);
  }

  onMaxData(max: number): void {
    this.ctx.eliciting = true;
    this.streams.onMaxData(max);
  }

  onMaxStreamData(streamId: number, max: number): void {
    this.ctx.eliciting = true;
    this.streams.onMaxStreamData(streamId, max);
  }

  onPathChallenge(data: Uint8Array): void {
    this.ctx.eliciting = true;
    this.paths.onChallenge(this.ctx.path, data);
  }

  onPathResponse(data: Uint8Array): void {
    this.ctx.eliciting = true;
    if (this.paths.onResponse(this.ctx.path, data, this.ctx.now)) this.fecLanes?.update(this.ctx.now);
  }

  onControl(msg: Control): void {
    this.ctx.eliciting = true;
    if (msg.streamOpen !== undefined) this.streams.onStreamOpen(Number(msg.streamOpen.streamId), msg.streamOpen.service);
  }

  onRepair(groupId: number, index: number, k: number, m: number, data: Uint8Array): void {
    this.ctx.eliciting = true;
    if (this.fecDecoder !== null) this.restored.push(...this.fecDecoder.onRepair(this.ctx.now, groupId, index, k, m, data));
  }

  onFecSource(groupId: number, index: number): void {
    this.ctx.fecGroup = groupId;
    this.ctx.fecIndex = index;
  }

  onLossReport(pathId: number, received: number, lost: number, bursts: number, reorder: number): void {
    const path = this.paths.get(pathId);
    // Reordering is a property of the path at any time, start-up included.
    if (path !== undefined) path.onReorderReport(reorder);
    // Start-up overflows the bottleneck queue on purpose; those drops say nothing about the channel.
    if (path === undefined || this.ctx.now - path.cc.steadySince < path.rtt.smoothed + LOSS_REPORT_INTERVAL_MS) return;
    path.counters.reportedReceived += received;
    path.counters.reportedLost += lost;
    path.lossEstimate.onReport(received, lost, bursts);
    this.fecLanes?.update(this.ctx.now);
  }

  onClose(_code: number, reason: string): void {
    this.session.peerClosed(reason || 'closed by peer');
  }
}
