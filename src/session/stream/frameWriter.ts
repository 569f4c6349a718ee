import { encodeControl } from '../../wire/control.ts';
import type { ByteWriter } from '../../wire/bytes.ts';
import {
  encodeControlFrame,
  encodeMaxData,
  encodeMaxStreamData,
  encodeResetStream,
  encodeStreamHeader,
  streamDataCapacity,
  streamHeaderLength,
} from '../../wire/frames.ts';
import type { Millis } from '../../base/time.ts';
import type { SentFrame } from '../ack/sentPacket.ts';
import { StreamStage } from '../streamProbe.ts';
import type { Stream } from './stream.ts';
import type { Streams } from './streams.ts';

/**
 * Fills a packet with what the streams owe, in this order: control frames (StreamOpen,
 * RESET_STREAM, MAX_DATA, MAX_STREAM_DATA); then the streams their source paces
 * (`Stream.isSourcePaced`): data to resend (`retransmit`), then new data, those least behind
 * first; then the downloads' resends and new data, round-robin. Each frame written is recorded
 * in `frames`, for recovery to settle.
 *
 * Paced streams first because a fair share is not enough for video: round-robin against a
 * download gave a 60 Mbit/s stream half of a 100 Mbit/s path, and its delay grew without bound.
 * And a download's resends after it, because a loss burst of a download is megabytes: sent
 * first, it held the stream's new chunks back by as long as they took at the path's rate.
 * A download still gets everything the paced streams leave, all of it once they are caught up.
 */
export function writeStreamFrames(now: Millis, w: ByteWriter, streams: Streams, frames: SentFrame[], retransmit: boolean): void {
  writeControlFrames(w, streams, frames);
  if (retransmit && !writeRetransmissions(w, streams, frames, true)) return;
  if (!writePacedLeastBehindFirst(now, w, streams, frames)) return;
  if (retransmit && !writeRetransmissions(w, streams, frames, false)) return;
  writeRoundRobin(now, w, streams, frames);
}

function writeControlFrames(w: ByteWriter, streams: Streams, frames: SentFrame[]): void {
  for (const stream of streams.pendingOpens) {
    const control = encodeControl({ streamOpen: { streamId: stream.id, service: stream.service } });
    if (w.remaining < control.length + 8) return;
    encodeControlFrame(w, control);
    frames.push({ kind: 'streamOpen', streamId: stream.id });
    streams.pendingOpens.delete(stream);
  }
  for (const stream of streams.pendingResets) {
    if (w.remaining < 32) return;
    encodeResetStream(w, stream.id, stream.resetCode, stream.send.nextOffset);
    frames.push({ kind: 'resetStream', streamId: stream.id });
    streams.pendingResets.delete(stream);
  }
  if (streams.pendingMaxData && w.remaining >= 16) {
    encodeMaxData(w, streams.localMaxData);
    frames.push({ kind: 'maxData' });
    streams.pendingMaxData = false;
  }
  for (const stream of streams.pendingMaxStreamData) {
    if (w.remaining < 24) return;
    streams.pendingMaxStreamData.delete(stream);
    if (stream.isReset) continue;
    encodeMaxStreamData(w, stream.id, stream.localMaxData);
    frames.push({ kind: 'maxStreamData', streamId: stream.id });
  }
}

/** Resends of the source-paced streams (`pacedOnly`) or of the others; false once the packet is full. */
function writeRetransmissions(w: ByteWriter, streams: Streams, frames: SentFrame[], pacedOnly: boolean): boolean {
  for (const stream of streams.retransmitQueue) {
    if (stream.isSourcePaced !== pacedOnly) continue;
    const send = stream.send;
    while (!send.lost.isEmpty) {
      const room = streamDataCapacity(w.remaining, stream.id, send.lost.min!);
      if (room <= 0) return false;
      const [start, end] = send.lost.shiftRange(room)!;
      const fin = send.finLost && end === send.written && send.lost.isEmpty;
      writeStreamFrame(w, streams, stream, start, end - start, fin, frames);
      if (fin) send.finLost = false;
      streams.counters.retransmittedBytes += end - start;
    }
    if (send.finLost) {
      if (w.remaining < streamHeaderLength(stream.id, send.written, 0)) return false;
      writeStreamFrame(w, streams, stream, send.written, 0, true, frames);
      send.finLost = false;
    }
    streams.retransmitQueue.delete(stream);
  }
  return w.remaining >= 32;
}

/**
 * Unsent bytes within which paced streams count as equally behind: a live stream's backlog
 * spikes by a few chunks whenever its relay reads several from TCP at once.
 */
const BACKLOG_BAND_BYTES = 64 * 1024;

/**
 * New data of the source-paced streams: round-robin among those least behind (within
 * BACKLOG_BAND_BYTES of the least unsent); false once the packet or the session's credit is
 * full. A download counts as source-paced until its writer is first refused, and a real relay
 * fills a download's send buffer from TCP at a few hundred Mbit/s: for half a second it went
 * round-robin with a 60 Mbit/s stream joining beside it, the stream got half of what start-up
 * paced, and its chunks queued 230 ms in the sending relay. A live stream keeps little unsent, a
 * download megabytes. The band keeps equals fair: strictly least first, the one served stays the
 * least and is served alone (100 streams of 512 KiB finished one after another).
 */
function writePacedLeastBehindFirst(now: Millis, w: ByteWriter, streams: Streams, frames: SentFrame[]): boolean {
  // Each pass writes a stream's all or fills the packet; the bound only guards the loop.
  for (let passes = streams.sendQueue.size; passes > 0; passes--) {
    let least = Infinity;
    for (const stream of streams.sendQueue) if (stream.isSourcePaced) least = Math.min(least, stream.send.unsent);
    if (least === Infinity) return true;
    let next: Stream | undefined;
    for (const stream of streams.sendQueue) {
      if (stream.isSourcePaced && stream.send.unsent <= least + BACKLOG_BAND_BYTES) {
        next = stream;
        break;
      }
    }
    if (!writeNewStreamData(now, w, streams, next!, frames)) return false;
  }
  return true;
}

/** New data of the streams not source-paced (downloads), round-robin; false once the packet or the session's credit is full. */
function writeRoundRobin(now: Millis, w: ByteWriter, streams: Streams, frames: SentFrame[]): boolean {
  for (const stream of streams.sendQueue) {
    if (stream.isSourcePaced) continue;
    if (!writeNewStreamData(now, w, streams, stream, frames)) return false;
  }
  return true;
}

/**
 * Writes what `stream` may send now into the packet, and takes it out of the send queue if that
 * is all it had (or moves it to the back). False once the packet or the session's credit is full.
 */
function writeNewStreamData(now: Millis, w: ByteWriter, streams: Streams, stream: Stream, frames: SentFrame[]): boolean {
  if (stream.isReset) {
    streams.sendQueue.delete(stream);
    return true;
  }
  stream.noteSending(now);
  const send = stream.send;
  const sessionCredit = streams.sendCredit;
  const available = Math.min(send.unsent, stream.sendCredit, sessionCredit);
  const finReady = send.finRequested && !send.finSent;
  if (available <= 0 && !(finReady && send.nextOffset === send.written)) {
    streams.sendQueue.delete(stream);
    return sessionCredit > 0;
  }
  const length = Math.max(0, Math.min(available, streamDataCapacity(w.remaining, stream.id, send.nextOffset)));
  if (length === 0 && (available > 0 || w.remaining < streamHeaderLength(stream.id, send.nextOffset, 0))) return false;
  const fin = finReady && send.nextOffset + length === send.written;
  writeStreamFrame(w, streams, stream, send.nextOffset, length, fin, frames);
  streams.probe?.onBytes(StreamStage.Sent, stream.id, send.nextOffset, send.nextOffset + length);
  send.nextOffset += length;
  streams.sentData += length;
  if (fin) send.finSent = true;
  // A writer held back by its unsent backlog has room again as soon as it is sent, not only when
  // the next acknowledgement comes a round trip later.
  if (stream.writeBlocked) streams.wakeBlockedWriter(stream);
  // Round-robin: the stream goes to the back of the queue, or leaves it when drained.
  streams.sendQueue.delete(stream);
  if (send.hasNewData && stream.sendCredit > 0) streams.sendQueue.add(stream);
  return w.remaining >= 32;
}

function writeStreamFrame(w: ByteWriter, streams: Streams, stream: Stream, offset: number, length: number, fin: boolean, frames: SentFrame[]): void {
  if (stream.isSourcePaced) streams.sourcePacedSent += length;
  encodeStreamHeader(w, stream.id, offset, length, fin);
  stream.send.copyOut(offset, length, w.buf, w.pos);
  w.pos += length;
  frames.push({ kind: 'stream', streamId: stream.id, offset, length, fin });
}
