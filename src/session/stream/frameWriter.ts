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
import type { SentFrame } from '../ack/sentPacket.ts';
import type { Stream } from './stream.ts';
import type { Streams } from './streams.ts';

/**
 * Fills a packet with what the streams owe, in this order: control frames (StreamOpen,
 * RESET_STREAM, MAX_DATA, MAX_STREAM_DATA), data to resend (`retransmit`), then new data
 * round-robin. Each frame written is recorded in `frames`, for recovery to settle.
 */
export function writeStreamFrames(w: ByteWriter, streams: Streams, frames: SentFrame[], retransmit: boolean): void {
  writeControlFrames(w, streams, frames);
  if (retransmit) writeRetransmissions(w, streams, frames);
  writeNewData(w, streams, frames);
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

function writeRetransmissions(w: ByteWriter, streams: Streams, frames: SentFrame[]): void {
  for (const stream of streams.retransmitQueue) {
    const send = stream.send;
    while (!send.lost.isEmpty) {
      const room = streamDataCapacity(w.remaining, stream.id, send.lost.min!);
      if (room <= 0) return;
      const [start, end] = send.lost.shiftRange(room)!;
      const fin = send.finLost && end === send.written && send.lost.isEmpty;
      writeStreamFrame(w, stream, start, end - start, fin, frames);
      if (fin) send.finLost = false;
      streams.counters.retransmittedBytes += end - start;
    }
    if (send.finLost) {
      if (w.remaining < streamHeaderLength(stream.id, send.written, 0)) return;
      writeStreamFrame(w, stream, send.written, 0, true, frames);
      send.finLost = false;
    }
    streams.retransmitQueue.delete(stream);
  }
}

function writeNewData(w: ByteWriter, streams: Streams, frames: SentFrame[]): void {
  for (const stream of streams.sendQueue) {
    if (stream.isReset) {
      streams.sendQueue.delete(stream);
      continue;
    }
    const send = stream.send;
    const sessionCredit = streams.sendCredit;
    const available = Math.min(send.written - send.nextOffset, stream.sendCredit, sessionCredit);
    const finReady = send.finRequested && !send.finSent;
    if (available <= 0 && !(finReady && send.nextOffset === send.written)) {
      streams.sendQueue.delete(stream);
      if (sessionCredit <= 0) return;
      continue;
    }
    const length = Math.max(0, Math.min(available, streamDataCapacity(w.remaining, stream.id, send.nextOffset)));
    if (length === 0 && (available > 0 || w.remaining < streamHeaderLength(stream.id, send.nextOffset, 0))) return;
    const fin = finReady && send.nextOffset + length === send.written;
    writeStreamFrame(w, stream, send.nextOffset, length, fin, frames);
    send.nextOffset += length;
    streams.sentData += length;
    if (fin) send.finSent = true;
    // Round-robin: the stream goes to the back of the queue, or leaves it when drained.
    streams.sendQueue.delete(stream);
    if (send.hasNewData && stream.sendCredit > 0) streams.sendQueue.add(stream);
    if (w.remaining < 32) return;
  }
}

function writeStreamFrame(w: ByteWriter, stream: Stream, offset: number, length: number, fin: boolean, frames: SentFrame[]): void {
  encodeStreamHeader(w, stream.id, offset, length, fin);
  stream.send.copyOut(offset, length, w.buf, w.pos);
  w.pos += length;
  frames.push({ kind: 'stream', streamId: stream.id, offset, length, fin });
}
