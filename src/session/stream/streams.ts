import type { Millis } from '../../base/time.ts';
import type { ReadResult, StreamId } from '../api.ts';
import type { SentFrame, SentPacket } from '../ack/sentPacket.ts';
import { CloseCode } from '../closeCode.ts';
import type { SessionConfig } from '../config.ts';
import type { EventQueue } from '../events.ts';
import type { FrameFate } from '../recovery/recovery.ts';
import { ResetCode } from '../resetCode.ts';
import { sessionSendRoom, tuneRecvWindow } from './flowControl.ts';
import { maxRecvRanges, PeerStreamIds, pieceLimit, sessionHeldLimit } from './limits.ts';
import { Stream, type StreamPriority } from './stream.ts';
import { StreamStage, type StreamProbe } from '../streamProbe.ts';

/**
 * Slack beyond maxStreams in the peer's cumulative stream limit: its own concurrency limit may be
 * larger (we refuse the extras), and it counts a stream closed up to a round trip before we do.
 */
const PEER_STREAM_SLACK = 1024;

/** Closes the session for a peer's violation (see {@link CloseCode}). */
export type Violation = (code: number, reason: string) => void;

/** Stream counters for the session's stats. */
export interface StreamCounters {
  streamsOpened: number;
  streamsReset: number;
  bytesWritten: number;
  bytesRead: number;
  retransmittedBytes: number;
}

/**
 * The session's streams, as quinn-proto's `StreamsState`: the stream map and its ids (ours even
 * for the dialer, odd for the listener; the peer's within a cumulative limit), flow control of
 * each stream and of the session (RFC 9000 §4), the limits on what the peer may make us hold,
 * and the queues of what is owed to the peer (new data round-robin, data to resend, stream
 * opens, resets and window updates). The packet builder drains those queues through
 * `stream/frameWriter.ts`; recovery settles sent frames through {@link FrameFate}.
 */
export class Streams implements FrameFate {
  private readonly map = new Map<StreamId, Stream>();
  /** What a new stream's receive window, ours and the peer's, starts at. */
  private readonly initialStreamWindow: number;
  private nextLocalId: number;
  private readonly peerIds: PeerStreamIds;
  private peerOpen = 0;
  /** What all receive buffers hold (charged, see recvBuffer.ts) and their piece count. */
  private recvHeld = 0;
  private recvPieces = 0;

  /** Streams with lost data to resend, in arrival order. */
  readonly retransmitQueue = new Set<Stream>();
  /** Streams with new data to send, round-robin. */
  readonly sendQueue = new Set<Stream>();
  readonly pendingOpens = new Set<Stream>();
  readonly pendingResets = new Set<Stream>();
  readonly pendingMaxStreamData = new Set<Stream>();
  private readonly blockedWriters = new Set<Stream>();
  pendingMaxData = false;

  /** Session flow control, RFC 9000 §4.1: what the peer allows and what we sent of it. */
  private peerMaxData: number;
  sentData = 0;
  /** Stream bytes sent (resends too) of streams their source paces (live video): what repairs ride on. */
  sourcePacedSent = 0;
  /** What we allow the peer, what it sent of it and what the application read. */
  localMaxData: number;
  private receivedData = 0;
  private consumedData = 0;
  /** Written and not yet acknowledged, all streams: what the send buffer limit counts. */
  private bufferedSend = 0;

  readonly counters: StreamCounters = { streamsOpened: 0, streamsReset: 0, bytesWritten: 0, bytesRead: 0, retransmittedBytes: 0 };

  constructor(
    private readonly config: SessionConfig,
    isDialer: boolean,
    private readonly events: EventQueue,
    private readonly violation: Violation,
    /** Watches bytes pass each stage; null but when a delay breakdown is asked for. */
    readonly probe: StreamProbe | null = null,
  ) {
    this.nextLocalId = isDialer ? 0 : 1;
    this.peerIds = new PeerStreamIds(isDialer ? 1 : 0, config.maxStreams + PEER_STREAM_SLACK);
    this.peerMaxData = config.sessionWindowBytes;
    this.localMaxData = config.sessionWindowBytes;
    this.initialStreamWindow = Math.min(config.initialStreamWindowBytes, config.streamWindowBytes);
  }

  /** Streams not reset. */
  get activeCount(): number {
    let active = 0;
    for (const s of this.map.values()) if (!s.isReset) active++;
    return active;
  }

  // ---------------------------------------------------------------- the application's side

  /** Opens a stream, naming the service it wants; null at the concurrency limit. */
  open(service: string): StreamId | null {
    let localOpen = 0;
    for (const s of this.map.values()) if (s.isLocal && !s.isReset) localOpen++;
    if (localOpen >= this.config.maxStreams) return null;
    const id = this.nextLocalId;
    this.nextLocalId += 2;
    const stream = new Stream(id, true, this.initialStreamWindow, this.initialStreamWindow);
    stream.service = service;
    this.map.set(id, stream);
    this.pendingOpens.add(stream);
    this.counters.streamsOpened++;
    return id;
  }

  /** See `Session.streamWrite`. */
  write(id: StreamId, data: Uint8Array): number {
    const stream = this.map.get(id);
    if (stream === undefined || stream.isReset || stream.send.finRequested) return 0;
    const room = Math.min(this.sendRoom(stream), sessionSendRoom(stream, this.config, this.bufferedSend));
    const n = Math.max(0, Math.min(room, data.length));
    if (n < data.length) {
      stream.writeBlocked = true;
      this.blockedWriters.add(stream);
    }
    if (n === 0) return 0;
    stream.send.write(n === data.length ? data : data.subarray(0, n));
    this.probe?.onBytes(StreamStage.Written, id, stream.send.written - n, stream.send.written);
    this.bufferedSend += n;
    this.counters.bytesWritten += n;
    if (stream.sendCredit > 0) this.sendQueue.add(stream);
    return n;
  }

  /**
   * See `Session.streamRead`: reading opens the windows again (a quarter at a time). `now` and the
   * round trip (`rttMs`) tune the stream's window.
   */
  read(id: StreamId, maxBytes: number, now: Millis, rttMs: Millis): ReadResult {
    const stream = this.map.get(id);
    if (stream === undefined || stream.isReset || !stream.announced) return null;
    const heldBefore = stream.recv.held;
    const piecesBefore = stream.recv.pieceCount;
    if (Number.isNaN(stream.recvEpochAt)) {
      // What arrived before the first read is left out: read at once, it would look infinitely fast.
      stream.recvEpochAt = now;
      stream.recvEpochOffset = stream.recv.highestOffset;
    }
    const out = stream.recv.read(maxBytes);
    this.recvHeld += stream.recv.held - heldBefore;
    this.recvPieces += stream.recv.pieceCount - piecesBefore;
    if (out === null) {
      stream.readableSignalled = false;
      return null;
    }
    if (out === 'fin') {
      this.maybeFree(stream);
      return 'fin';
    }
    this.counters.bytesRead += out.length;
    this.probe?.onBytes(StreamStage.Read, id, stream.recv.readOffset - out.length, stream.recv.readOffset);
    this.consumedData += out.length;
    if (stream.recv.readOffset + stream.recvWindow - stream.localMaxData >= stream.recvWindow / 4 && stream.recv.finalSize < 0) {
      tuneRecvWindow(stream, now, rttMs, this.config.streamWindowBytes);
      stream.localMaxData = stream.recv.readOffset + stream.recvWindow;
      this.pendingMaxStreamData.add(stream);
    }
    const sessionTarget = this.consumedData + this.config.sessionWindowBytes;
    if (sessionTarget - this.localMaxData >= this.config.sessionWindowBytes / 4) {
      this.localMaxData = sessionTarget;
      this.pendingMaxData = true;
    }
    return out;
  }

  setPriority(id: StreamId, priority: StreamPriority): void {
    const stream = this.map.get(id);
    if (stream !== undefined) stream.priority = priority;
  }

  finish(id: StreamId): void {
    const stream = this.map.get(id);
    if (stream === undefined || stream.isReset || stream.send.finRequested) return;
    stream.send.finRequested = true;
    this.sendQueue.add(stream);
  }

  reset(id: StreamId, code: number): void {
    const stream = this.map.get(id);
    if (stream === undefined || stream.isReset) return;
    this.resetStream(stream, code, false);
  }

  /** The session ended: every stream and queue is dropped. */
  clear(): void {
    this.map.clear();
    this.sendQueue.clear();
    this.retransmitQueue.clear();
    this.pendingOpens.clear();
    this.pendingResets.clear();
    this.pendingMaxStreamData.clear();
    this.blockedWriters.clear();
  }

  // ---------------------------------------------------------------- frames from the peer

  onStream(streamId: number, offset: number, fin: boolean, data: Uint8Array): void {
    const stream = this.forFrame(streamId);
    if (stream === null || stream.isReset) return;
    if (offset + data.length > stream.localMaxData) {
      this.violation(CloseCode.FlowControl, `stream ${streamId} exceeded its flow-control window`);
      return;
    }
    const recv = stream.recv;
    const heldBefore = recv.held;
    const piecesBefore = recv.pieceCount;
    const growth = recv.insert(offset, data, fin);
    if (growth < 0) {
      this.violation(CloseCode.ProtocolViolation, `stream ${streamId} changed its final size`);
      return;
    }
    this.recvHeld += recv.held - heldBefore;
    this.recvPieces += recv.pieceCount - piecesBefore;
    if (recv.rangeCount > maxRecvRanges(this.config.streamWindowBytes) || recv.pieceCount > pieceLimit(this.config.streamWindowBytes)) {
      this.violation(CloseCode.FlowControl, `stream ${streamId} holds too many pieces (${recv.pieceCount} in ${recv.rangeCount} ranges)`);
      return;
    }
    if (this.recvHeld > sessionHeldLimit(this.config.sessionWindowBytes) || this.recvPieces > pieceLimit(this.config.sessionWindowBytes)) {
      this.violation(CloseCode.FlowControl, `received data held in too many small pieces (${this.recvPieces} pieces, ${this.recvHeld} bytes charged)`);
      return;
    }
    this.receivedData += growth;
    if (this.receivedData > this.localMaxData) {
      this.violation(CloseCode.FlowControl, 'session exceeded its flow-control window');
      return;
    }
    if (fin) {
      this.pendingMaxStreamData.delete(stream);
      stream.peerFinalKnown = true;
    }
    this.signalReadable(stream);
  }

  onResetStream(streamId: number, errorCode: number, finalSize: number): void {
    const stream = this.forFrame(streamId);
    if (stream === null) return;
    // RFC 9000 §4.5: the final size can be neither below what arrived, nor other than a FIN
    // said, nor beyond what flow control allowed.
    const recv = stream.recv;
    if (finalSize < recv.highestOffset || (recv.finalSize >= 0 && finalSize !== recv.finalSize)) {
      this.violation(CloseCode.ProtocolViolation, `stream ${streamId} reset with final size ${finalSize}, below or off what arrived`);
      return;
    }
    if (finalSize > stream.localMaxData || (!stream.peerFinalKnown && this.receivedData + finalSize - recv.highestOffset > this.localMaxData)) {
      this.violation(CloseCode.FlowControl, `stream ${streamId} reset with final size ${finalSize}, beyond its flow-control window`);
      return;
    }
    if (!stream.isReset) this.resetStream(stream, errorCode, true);
    this.settlePeerFinalSize(stream, finalSize);
  }

  onStopSending(streamId: number, errorCode: number): void {
    const stream = this.forFrame(streamId);
    if (stream !== null && !stream.isReset) this.resetStream(stream, errorCode, true);
  }

  onMaxData(max: number): void {
    if (max <= this.peerMaxData) return;
    this.peerMaxData = max;
    for (const stream of this.map.values()) {
      if (!stream.isReset && stream.send.hasNewData && stream.sendCredit > 0) this.sendQueue.add(stream);
    }
  }

  onMaxStreamData(streamId: number, max: number): void {
    const stream = this.map.get(streamId);
    if (stream === undefined || stream.isReset || max <= stream.peerMaxData) return;
    stream.peerMaxData = max;
    if (stream.send.hasNewData) this.sendQueue.add(stream);
  }

  /** The peer's StreamOpen: the stream (perhaps with data already waiting) is announced. */
  onStreamOpen(streamId: number, service: string): void {
    const stream = this.forFrame(streamId);
    if (stream === null || stream.announced || stream.isLocal) return;
    stream.announced = true;
    stream.service = service;
    if (stream.isReset) return;
    this.events.push({ type: 'streamOpened', streamId: stream.id, service: stream.service });
    this.signalReadable(stream);
  }

  // ---------------------------------------------------------------- sent frames settled (FrameFate)

  framesAcked(packet: SentPacket): void {
    for (const frame of packet.frames) {
      switch (frame.kind) {
        case 'stream': {
          const stream = this.map.get(frame.streamId);
          if (stream === undefined || stream.isReset) break;
          const before = stream.send.buffered;
          stream.send.onAcked(frame.offset, frame.length, frame.fin);
          this.bufferedSend -= before - stream.send.buffered;
          this.maybeFree(stream);
          break;
        }
        case 'resetStream': {
          const stream = this.map.get(frame.streamId);
          if (stream !== undefined) {
            stream.resetAcked = true;
            this.maybeFree(stream);
          }
          break;
        }
        case 'streamOpen': {
          const stream = this.map.get(frame.streamId);
          if (stream !== undefined) {
            stream.openAcked = true;
            this.maybeFree(stream);
          }
          break;
        }
        default:
          break;
      }
    }
  }

  framesLost(packet: SentPacket): void {
    for (const frame of packet.frames) this.requeue(frame);
  }

  private requeue(frame: SentFrame): void {
    switch (frame.kind) {
      case 'stream': {
        const stream = this.map.get(frame.streamId);
        if (stream === undefined || stream.isReset) break;
        stream.send.onLost(frame.offset, frame.length, frame.fin);
        if (stream.send.hasLostData) this.retransmitQueue.add(stream);
        break;
      }
      case 'maxData':
        this.pendingMaxData = true;
        break;
      case 'maxStreamData': {
        const stream = this.map.get(frame.streamId);
        if (stream !== undefined && !stream.isReset && stream.recv.finalSize < 0) this.pendingMaxStreamData.add(stream);
        break;
      }
      case 'resetStream': {
        const stream = this.map.get(frame.streamId);
        if (stream !== undefined && !stream.resetAcked) this.pendingResets.add(stream);
        break;
      }
      case 'streamOpen': {
        const stream = this.map.get(frame.streamId);
        if (stream !== undefined && !stream.openAcked) this.pendingOpens.add(stream);
        break;
      }
      default:
        break;
    }
  }

  /** Tells writers that were refused room that worthwhile room freed up. Call after each ACK. */
  wakeBlockedWriters(): void {
    for (const stream of this.blockedWriters) this.wakeBlockedWriter(stream);
  }

  /** Tells `stream`'s blocked writer it may write again, once that is worth a write. */
  wakeBlockedWriter(stream: Stream): void {
    const room = Math.min(this.sendRoom(stream), this.config.sessionSendBufferBytes - this.bufferedSend);
    // Wake only with a worthwhile amount of room, or writers spin on tiny writes.
    if (room < Math.min(256 * 1024, this.config.streamSendBufferBytes / 4, this.config.streamUnsentBytes / 4)) return;
    stream.writeBlocked = false;
    this.blockedWriters.delete(stream);
    this.events.push({ type: 'streamWritable', streamId: stream.id });
  }

  /** What `stream`'s own limits let its writer add: unacknowledged bytes, and bytes never sent. */
  private sendRoom(stream: Stream): number {
    return Math.min(this.config.streamSendBufferBytes - stream.send.buffered, this.config.streamUnsentBytes - stream.send.unsent);
  }

  // ---------------------------------------------------------------- what is owed

  /** Session credit left for new stream data. */
  get sendCredit(): number {
    return this.peerMaxData - this.sentData;
  }

  /** New stream data is queued and the session window lets some go. */
  get hasNewWork(): boolean {
    return this.sendQueue.size > 0 && this.sentData < this.peerMaxData;
  }

  /** Something ack-eliciting is owed: control frames, data to resend, or new data with credit. */
  get hasElicitingWork(): boolean {
    return (
      this.pendingOpens.size > 0 ||
      this.pendingResets.size > 0 ||
      this.pendingMaxStreamData.size > 0 ||
      this.pendingMaxData ||
      this.retransmitQueue.size > 0 ||
      this.hasNewWork
    );
  }

  /** `total` plus the bytes waiting to be sent (lost, then new), counted only up to `atLeast`. */
  backlogBytes(total: number, atLeast: number): number {
    for (const s of this.retransmitQueue) {
      total += s.send.lost.size();
      if (total >= atLeast) return total;
    }
    for (const s of this.sendQueue) {
      total += Math.min(s.send.unsent, s.sendCredit);
      if (total >= atLeast) return total;
    }
    return total;
  }

  /**
   * The stream whose data the next packet starts with, if any, in `writeStreamFrames`' order:
   * source-paced streams' resends, their new data, then the others' resends and new data.
   */
  nextToSend(): Stream | undefined {
    for (const stream of this.retransmitQueue) if (stream.isSourcePaced) return stream;
    for (const stream of this.sendQueue) if (stream.isSourcePaced) return stream;
    return this.retransmitQueue.values().next().value ?? this.sendQueue.values().next().value;
  }

  /** Whether `stream` is still live (not freed). */
  get(id: StreamId): Stream | undefined {
    return this.map.get(id);
  }

  // ---------------------------------------------------------------- lifecycle

  /** The stream a peer's frame names: a live one, a new one it opens, or null (old, ours, or over its limit). */
  private forFrame(streamId: number): Stream | null {
    const existing = this.map.get(streamId);
    if (existing !== undefined) return existing;
    const admitted = this.peerIds.admit(streamId);
    if (admitted === 'old') return null;
    if (admitted === 'over') {
      this.violation(CloseCode.ProtocolViolation, `stream ${streamId} is beyond the peer's stream limit`);
      return null;
    }
    const stream = new Stream(streamId, false, this.initialStreamWindow, this.initialStreamWindow);
    this.map.set(streamId, stream);
    this.peerOpen++;
    if (this.peerOpen > this.config.maxStreams) this.resetStream(stream, ResetCode.Refused, false);
    return stream;
  }

  /**
   * Aborts a stream. Both sides always send RESET_STREAM with their final size, the first as the
   * abort and the other in reply, so each learns how much of the session window the other used
   * (RFC 9000 §4.5) and the state is freed only when both final sizes are settled.
   */
  private resetStream(stream: Stream, code: number, byPeer: boolean): void {
    stream.resetCode = code;
    stream.resetByPeer = byPeer;
    this.bufferedSend -= stream.send.buffered;
    // Unread bytes will never be read: give their window back.
    this.consumedData += stream.recv.highestOffset - stream.recv.readOffset;
    stream.send.discard();
    this.recvHeld -= stream.recv.held;
    this.recvPieces -= stream.recv.pieceCount;
    stream.recv.discard();
    this.sendQueue.delete(stream);
    this.retransmitQueue.delete(stream);
    this.pendingOpens.delete(stream);
    this.pendingMaxStreamData.delete(stream);
    this.blockedWriters.delete(stream);
    this.counters.streamsReset++;
    this.pendingResets.add(stream);
    if (byPeer && stream.announced) this.events.push({ type: 'streamReset', streamId: stream.id, code });
    this.maybeFree(stream);
  }

  /** The peer's final size for a stream: account the bytes it sent that we never received. */
  private settlePeerFinalSize(stream: Stream, finalSize: number): void {
    if (stream.peerFinalKnown) return;
    stream.peerFinalKnown = true;
    const unseen = Math.max(0, finalSize - stream.recv.highestOffset);
    this.receivedData += unseen;
    this.consumedData += unseen;
    stream.recv.highestOffset = Math.max(stream.recv.highestOffset, finalSize);
    this.maybeFree(stream);
  }

  private maybeFree(stream: Stream): void {
    if (!stream.isFinished || !this.map.has(stream.id)) return;
    this.map.delete(stream.id);
    this.pendingResets.delete(stream);
    this.blockedWriters.delete(stream);
    if (!stream.isLocal) {
      this.peerOpen--;
      this.peerIds.onClosed();
    }
    if (stream.announced) this.events.push({ type: 'streamClosed', streamId: stream.id });
  }

  private signalReadable(stream: Stream): void {
    if (!stream.announced || stream.readableSignalled || !stream.recv.isReadable) return;
    stream.readableSignalled = true;
    this.events.push({ type: 'streamReadable', streamId: stream.id });
  }
}
