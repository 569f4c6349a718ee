/**
 * Frames: the contents of a Data packet's payload, a sequence of `[type u8][body]`. Hot-path
 * frames are fixed binary layouts of QUIC varints (RFC 9000 §16), modelled on RFC 9000 §19;
 * only CONTROL carries protobuf. Decoding is visitor-based: {@link decodeFrames} walks a payload
 * once and calls one visitor method per frame, handing out subarray views instead of copies.
 *
 * Every encoder writes one whole frame (type byte included) through a ByteWriter and throws
 * WireError('overflow') if it does not fit; size frames first with the matching `*Length`
 * function (all O(1)) so a packet is never left with half a frame.
 */
import { ByteReader, ByteWriter, MAX_U48, MAX_VARINT, varintLength } from './bytes.ts';
import { type Control, decodeControl } from './control.ts';
import { WireError } from './errors.ts';

/** Frame type byte values. */
export const FrameType = {
  /** Zero bytes to the end of the payload: this byte and every following one must be 0. */
  Padding: 0x00,
  /** Elicits an ACK; keeps paths and NAT bindings alive. No body. */
  Ping: 0x01,
  /** Received packet numbers of one path, as descending ranges. */
  Ack: 0x02,
  /** Bytes of a stream at an offset, optionally with its end (FIN). */
  Stream: 0x03,
  /** Abrupt end of the sending side of a stream (RFC 9000 §19.4). */
  ResetStream: 0x04,
  /** Asks the peer to stop sending on a stream (RFC 9000 §19.5). */
  StopSending: 0x05,
  /** Session-level flow control limit (RFC 9000 §19.9). */
  MaxData: 0x06,
  /** Stream-level flow control limit (RFC 9000 §19.10). */
  MaxStreamData: 0x07,
  /** 8 bytes the peer must echo in PATH_RESPONSE on the same path (RFC 9000 §19.17). */
  PathChallenge: 0x08,
  /** Echo of a PATH_CHALLENGE's 8 bytes (RFC 9000 §19.18). */
  PathResponse: 0x09,
  /** A protobuf `bering.Control` message (control.ts). */
  Control: 0x0a,
  /** A Reed-Solomon repair symbol of an FEC group. */
  Repair: 0x0b,
  /** Closes the session with an error code and a reason (RFC 9000 §19.19 analogue). */
  Close: 0x0c,
  /** Marks the packet as source symbol `index` of FEC group `groupId` (the whole datagram is the symbol). */
  FecSource: 0x0d,
  /** The receiver's raw loss figures for one path since its previous report: what FEC is sized by. */
  LossReport: 0x0e,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Length of PATH_CHALLENGE / PATH_RESPONSE data. */
export const PATH_DATA_LEN = 8;
/** Flags bit of STREAM: the frame's last byte is the stream's last byte. */
const STREAM_FIN = 0x01;

/**
 * Whether a packet containing a frame of this type must be acknowledged: everything except ACK,
 * PADDING, CLOSE and LOSS_REPORT (RFC 9002 §2 "ack-eliciting"). Unknown types count as ack-eliciting. O(1).
 */
export function isAckEliciting(type: number): boolean {
  return type !== FrameType.Ack && type !== FrameType.Padding && type !== FrameType.Close && type !== FrameType.LossReport;
}

/**
 * One method per frame kind, called by {@link decodeFrames} in payload order. Views passed in
 * (`data`) alias the payload buffer: copy them to keep them past the call if the payload is
 * reused. Exceptions thrown by a method propagate out of decodeFrames unchanged.
 */
export interface FrameVisitor {
  /** PING: nothing to do beyond acknowledging the packet. */
  onPing(): void;
  /**
   * ACK of path `pathId`'s packets (it may arrive on any path).
   * @param ackDelayMicros how long the peer held the largest packet before acknowledging it.
   * @param ranges inclusive `[lo, hi]` ranges of received packet numbers of path `pathId`, in
   *   descending order, non-overlapping and non-adjacent; a fresh array the visitor may keep.
   */
  onAck(pathId: number, ackDelayMicros: number, ranges: Array<[number, number]>): void;
  /** STREAM: `data` (a view) belongs at `offset` of `streamId`; `fin` marks its last byte. */
  onStream(streamId: number, offset: number, fin: boolean, data: Uint8Array): void;
  /** RESET_STREAM: the peer abandoned sending `streamId`, which ends at `finalSize`. */
  onResetStream(streamId: number, errorCode: number, finalSize: number): void;
  /** STOP_SENDING: the peer wants no more of `streamId`; answer with RESET_STREAM. */
  onStopSending(streamId: number, errorCode: number): void;
  /** MAX_DATA: the peer accepts session data up to `max` bytes in total. */
  onMaxData(max: number): void;
  /** MAX_STREAM_DATA: the peer accepts `streamId` up to offset `max`. */
  onMaxStreamData(streamId: number, max: number): void;
  /** PATH_CHALLENGE: `data` is 8 bytes to echo in a PATH_RESPONSE (copy it: it is a view). */
  onPathChallenge(data: Uint8Array): void;
  /** PATH_RESPONSE: `data` (8 bytes, a view) should match an outstanding challenge. */
  onPathResponse(data: Uint8Array): void;
  /** CONTROL: an already decoded control message. */
  onControl(msg: Control): void;
  /** REPAIR: `data` is the repair symbol (a view); see {@link encodeRepair} for the fields. */
  onRepair(groupId: number, index: number, k: number, m: number, data: Uint8Array): void;
  /** CLOSE: the peer ended the session. */
  onClose(code: number, reason: string): void;
  onFecSource(groupId: number, index: number): void;
  /**
   * Over the packets of path `pathId` since the previous report: how many arrived, were lost, in
   * how many runs, and the furthest a packet arrived behind a later-numbered one (reordering).
   */
  onLossReport(pathId: number, received: number, lost: number, bursts: number, reorder: number): void;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * Decodes every frame of a decrypted payload, calling `visitor` once per frame in order.
 * Throws WireError (and only WireError, apart from what the visitor throws) on the first
 * malformed frame; frames before it have already been delivered. A peer that sends a malformed
 * frame is broken or hostile: close the session. O(payload length); allocates only the ACK
 * range arrays, the views handed out, CONTROL messages and CLOSE reasons.
 */
export function decodeFrames(payload: Uint8Array, visitor: FrameVisitor): void {
  const r = new ByteReader(payload);
  while (r.remaining > 0) {
    const type = r.u8();
    switch (type) {
      case FrameType.Padding:
        for (let i = r.pos; i < r.end; i++) {
          if (payload[i] !== 0) throw new WireError('bad-padding', `non-zero byte at ${i}`);
        }
        return;
      case FrameType.Ping:
        visitor.onPing();
        break;
      case FrameType.Ack:
        decodeAck(r, visitor);
        break;
      case FrameType.Stream: {
        const flags = r.u8();
        if ((flags & ~STREAM_FIN) !== 0) throw new WireError('bad-flags', `STREAM flags ${flags}`);
        const streamId = r.varint();
        const offset = r.varint();
        const length = r.varint();
        if (offset + length > MAX_VARINT) throw new WireError('bad-length', 'STREAM end above 2^53-1');
        visitor.onStream(streamId, offset, (flags & STREAM_FIN) !== 0, r.bytes(length));
        break;
      }
      case FrameType.ResetStream:
        visitor.onResetStream(r.varint(), r.varint(), r.varint());
        break;
      case FrameType.StopSending:
        visitor.onStopSending(r.varint(), r.varint());
        break;
      case FrameType.MaxData:
        visitor.onMaxData(r.varint());
        break;
      case FrameType.MaxStreamData:
        visitor.onMaxStreamData(r.varint(), r.varint());
        break;
      case FrameType.PathChallenge:
        visitor.onPathChallenge(r.bytes(PATH_DATA_LEN));
        break;
      case FrameType.PathResponse:
        visitor.onPathResponse(r.bytes(PATH_DATA_LEN));
        break;
      case FrameType.Control:
        visitor.onControl(decodeControl(r.bytes(r.varint())));
        break;
      case FrameType.Repair: {
        const groupId = r.varint();
        const index = r.u8();
        const k = r.u8();
        const m = r.u8();
        if (k === 0 || m === 0 || index >= m || k + m > 256) {
          throw new WireError('bad-length', `REPAIR index ${index} k ${k} m ${m}`);
        }
        visitor.onRepair(groupId, index, k, m, r.bytes(r.varint()));
        break;
      }
      case FrameType.Close: {
        const code = r.varint();
        const reasonBytes = r.bytes(r.varint());
        let reason: string;
        try {
          reason = utf8Decoder.decode(reasonBytes);
        } catch {
          throw new WireError('bad-utf8', 'CLOSE reason is not UTF-8');
        }
        visitor.onClose(code, reason);
        break;
      }
      case FrameType.FecSource:
        visitor.onFecSource(r.varint(), r.u8());
        break;
      case FrameType.LossReport:
        visitor.onLossReport(r.u8(), r.varint(), r.varint(), r.varint(), r.varint());
        break;
      default:
        throw new WireError('unknown-frame', `frame type 0x${type.toString(16)}`);
    }
  }
}

function decodeAck(r: ByteReader, visitor: FrameVisitor): void {
  const pathId = r.u8();
  const largest = r.varint();
  const ackDelayMicros = r.varint();
  const extra = r.varint();
  // Each further range takes at least 2 bytes: reject absurd counts before allocating.
  if (extra > r.remaining / 2) throw new WireError('bad-length', `ACK range count ${extra}`);
  const first = r.varint();
  if (largest > MAX_U48 || first > largest) throw new WireError('bad-ack', 'ACK first range');
  const ranges: Array<[number, number]> = new Array(extra + 1);
  let lo = largest - first;
  ranges[0] = [lo, largest];
  for (let i = 1; i <= extra; i++) {
    const gap = r.varint();
    const len = r.varint();
    const hi = lo - gap - 2;
    if (hi < 0 || len > hi) throw new WireError('bad-ack', 'ACK range below 0');
    lo = hi - len;
    ranges[i] = [lo, hi];
  }
  visitor.onAck(pathId, ackDelayMicros, ranges);
}

/** Writes `n` PADDING bytes; must be the last thing written into the payload. */
export function encodePadding(w: ByteWriter, n: number): void {
  w.zeros(n);
}

/** Writes a PING frame (1 byte). */
export function encodePing(w: ByteWriter): void {
  w.u8(FrameType.Ping);
}

/**
 * Writes an ACK frame for path `pathId` (QUIC layout, RFC 9000 §19.3: largest, delay, range
 * count, first range, then gap/length pairs; delay in plain microseconds, no exponent) holding
 * as many of `ranges` as fit in `w.remaining` and `maxRanges`, newest first, so truncation drops
 * the oldest ranges. `ranges` are inclusive `[lo, hi]`, descending, non-overlapping and
 * non-adjacent (merge `[5,6]` and `[3,4]` into `[3,6]`). Returns the number of ranges written;
 * 0 (and nothing written) when `ranges` is empty or not even the first range fits. O(ranges
 * written). Throws WireError('bad-value') for ranges that break the ordering rules.
 */
export function encodeAck(
  w: ByteWriter,
  pathId: number,
  ackDelayMicros: number,
  ranges: ReadonlyArray<readonly [number, number]>,
  maxRanges = Infinity,
): number {
  if (ranges.length === 0 || maxRanges < 1) return 0;
  if ((pathId & 0xff) !== pathId) throw new WireError('bad-value', `not a path id: ${pathId}`);
  const lo0 = ranges[0][0];
  const largest = ranges[0][1];
  if (!(lo0 >= 0 && lo0 <= largest && largest <= MAX_U48)) {
    throw new WireError('bad-value', `bad ACK range [${lo0}, ${largest}]`);
  }
  const fixed = 2 + varintLength(largest) + varintLength(ackDelayMicros) + varintLength(largest - lo0);
  const limit = Math.min(ranges.length, maxRanges);
  // Find how many ranges fit, counting the range-count varint at its final size.
  let count = 1;
  let pairs = 0;
  let prevLo = lo0;
  for (; count < limit; count++) {
    const lo = ranges[count][0];
    const hi = ranges[count][1];
    const gap = prevLo - hi - 2;
    if (!(gap >= 0 && lo >= 0 && lo <= hi)) {
      throw new WireError('bad-value', `ACK range [${lo}, ${hi}] after ${prevLo}`);
    }
    const more = varintLength(gap) + varintLength(hi - lo);
    if (fixed + varintLength(count) + pairs + more > w.remaining) break;
    pairs += more;
    prevLo = lo;
  }
  if (fixed + varintLength(count - 1) + pairs > w.remaining) return 0;
  w.u8(FrameType.Ack);
  w.u8(pathId);
  w.varint(largest);
  w.varint(ackDelayMicros);
  w.varint(count - 1);
  w.varint(largest - lo0);
  prevLo = lo0;
  for (let i = 1; i < count; i++) {
    const hi = ranges[i][1];
    w.varint(prevLo - hi - 2);
    w.varint(hi - ranges[i][0]);
    prevLo = ranges[i][0];
  }
  return count;
}

/** Bytes of a STREAM frame's header (everything before its data). O(1). */
export function streamHeaderLength(streamId: number, offset: number, length: number): number {
  return 2 + varintLength(streamId) + varintLength(offset) + varintLength(length);
}

/**
 * Most stream bytes a STREAM frame at (`streamId`, `offset`) can carry in `space` bytes, header
 * included; 0 when not even one byte fits. O(1). Use it to fill a packet to the brim.
 */
export function streamDataCapacity(space: number, streamId: number, offset: number): number {
  // Room for the length varint plus the data; the varint grows with the length it encodes.
  const avail = space - 2 - varintLength(streamId) - varintLength(offset);
  if (avail - 1 < 0x40) return Math.max(0, avail - 1);
  if (avail - 2 < 0x4000) return avail - 2;
  if (avail - 4 < 0x40000000) return Math.max(avail - 4, 0x3fff);
  return Math.max(avail - 8, 0x3fffffff);
}

/**
 * Writes a STREAM frame header (flags, streamId, offset, length); the caller then writes exactly
 * `length` data bytes, e.g. `w.bytes(sendBuffer.subarray(...))`, copied once into the packet.
 * `offset + length` must not exceed 2^53-1.
 */
export function encodeStreamHeader(
  w: ByteWriter,
  streamId: number,
  offset: number,
  length: number,
  fin: boolean,
): void {
  if (offset + length > MAX_VARINT) throw new WireError('bad-value', 'STREAM end above 2^53-1');
  const need = streamHeaderLength(streamId, offset, length);
  if (need > w.remaining) throw new WireError('overflow', `STREAM header needs ${need} bytes`);
  w.u8(FrameType.Stream);
  w.u8(fin ? STREAM_FIN : 0);
  w.varint(streamId);
  w.varint(offset);
  w.varint(length);
}

/** Bytes of a RESET_STREAM frame. */
export function resetStreamLength(streamId: number, errorCode: number, finalSize: number): number {
  return 1 + varintLength(streamId) + varintLength(errorCode) + varintLength(finalSize);
}

/** Writes RESET_STREAM: the sender abandons `streamId` after `finalSize` bytes (RFC 9000 §19.4). */
export function encodeResetStream(
  w: ByteWriter,
  streamId: number,
  errorCode: number,
  finalSize: number,
): void {
  checkRoom(w, resetStreamLength(streamId, errorCode, finalSize));
  w.u8(FrameType.ResetStream);
  w.varint(streamId);
  w.varint(errorCode);
  w.varint(finalSize);
}

/** Bytes of a STOP_SENDING frame. */
export function stopSendingLength(streamId: number, errorCode: number): number {
  return 1 + varintLength(streamId) + varintLength(errorCode);
}

/** Writes STOP_SENDING: the receiver no longer wants `streamId`'s data (RFC 9000 §19.5). */
export function encodeStopSending(w: ByteWriter, streamId: number, errorCode: number): void {
  checkRoom(w, stopSendingLength(streamId, errorCode));
  w.u8(FrameType.StopSending);
  w.varint(streamId);
  w.varint(errorCode);
}

/** Bytes of a MAX_DATA frame. */
export function maxDataLength(max: number): number {
  return 1 + varintLength(max);
}

/** Writes MAX_DATA: the session-wide byte limit the peer may send up to (RFC 9000 §19.9). */
export function encodeMaxData(w: ByteWriter, max: number): void {
  checkRoom(w, maxDataLength(max));
  w.u8(FrameType.MaxData);
  w.varint(max);
}

/** Bytes of a MAX_STREAM_DATA frame. */
export function maxStreamDataLength(streamId: number, max: number): number {
  return 1 + varintLength(streamId) + varintLength(max);
}

/** Writes MAX_STREAM_DATA: the peer may send `streamId` up to offset `max` (RFC 9000 §19.10). */
export function encodeMaxStreamData(w: ByteWriter, streamId: number, max: number): void {
  checkRoom(w, maxStreamDataLength(streamId, max));
  w.u8(FrameType.MaxStreamData);
  w.varint(streamId);
  w.varint(max);
}

/** Bytes of a PATH_CHALLENGE or PATH_RESPONSE frame. */
export const PATH_FRAME_LEN = 1 + PATH_DATA_LEN;

/** Writes PATH_CHALLENGE with 8 unpredictable bytes (from the session's Rng). */
export function encodePathChallenge(w: ByteWriter, data: Uint8Array): void {
  encodePathFrame(w, FrameType.PathChallenge, data);
}

/** Writes PATH_RESPONSE echoing a PATH_CHALLENGE's 8 bytes, on the path it arrived on. */
export function encodePathResponse(w: ByteWriter, data: Uint8Array): void {
  encodePathFrame(w, FrameType.PathResponse, data);
}

function encodePathFrame(w: ByteWriter, type: number, data: Uint8Array): void {
  if (data.length !== PATH_DATA_LEN) throw new WireError('bad-value', `path data of ${data.length} bytes`);
  checkRoom(w, PATH_FRAME_LEN);
  w.u8(type);
  w.bytes(data);
}

/** Bytes of a CONTROL frame carrying `encoded` (the output of `encodeControl`). */
export function controlFrameLength(encoded: Uint8Array): number {
  return 1 + varintLength(encoded.length) + encoded.length;
}

/** Writes a CONTROL frame around protobuf bytes from `encodeControl` (control.ts). */
export function encodeControlFrame(w: ByteWriter, encoded: Uint8Array): void {
  checkRoom(w, controlFrameLength(encoded));
  w.u8(FrameType.Control);
  w.varint(encoded.length);
  w.bytes(encoded);
}

/** Bytes of a REPAIR frame with `dataLength` bytes of repair symbol. */
export function repairFrameLength(groupId: number, dataLength: number): number {
  return 4 + varintLength(groupId) + varintLength(dataLength) + dataLength;
}

/**
 * Writes a REPAIR frame: repair symbol `index` (0 ≤ index < m) of FEC group `groupId`, which has
 * `k` source packets (1..255) and `m` repair symbols (1..255), k + m ≤ 256 (GF(2^8)
 * Reed-Solomon). Layout: groupId varint, index u8, k u8, m u8, length varint, data.
 */
export function encodeRepair(
  w: ByteWriter,
  groupId: number,
  index: number,
  k: number,
  m: number,
  data: Uint8Array,
): void {
  if (!(k >= 1 && m >= 1 && index >= 0 && index < m && k + m <= 256)) {
    throw new WireError('bad-value', `REPAIR index ${index} k ${k} m ${m}`);
  }
  checkRoom(w, repairFrameLength(groupId, data.length));
  w.u8(FrameType.Repair);
  w.varint(groupId);
  w.u8(index);
  w.u8(k);
  w.u8(m);
  w.varint(data.length);
  w.bytes(data);
}

/** Bytes of a FEC_SOURCE frame. */
export function fecSourceLength(groupId: number): number {
  return 2 + varintLength(groupId);
}

/** Writes FEC_SOURCE: this packet is source symbol `index` (0..254) of FEC group `groupId`. */
export function encodeFecSource(w: ByteWriter, groupId: number, index: number): void {
  if (!(index >= 0 && index < 255)) throw new WireError('bad-value', `FEC source index ${index}`);
  checkRoom(w, fecSourceLength(groupId));
  w.u8(FrameType.FecSource);
  w.varint(groupId);
  w.u8(index);
}

/** Bytes of a LOSS_REPORT frame. */
export function lossReportLength(received: number, lost: number, bursts: number, reorder: number): number {
  return 2 + varintLength(received) + varintLength(lost) + varintLength(bursts) + varintLength(reorder);
}

/**
 * Writes LOSS_REPORT for path `pathId`: packets received, lost, loss runs, and the largest
 * reordering distance (in packet numbers) since the last report.
 */
export function encodeLossReport(w: ByteWriter, pathId: number, received: number, lost: number, bursts: number, reorder: number): void {
  if ((pathId & 0xff) !== pathId) throw new WireError('bad-value', `not a path id: ${pathId}`);
  checkRoom(w, lossReportLength(received, lost, bursts, reorder));
  w.u8(FrameType.LossReport);
  w.u8(pathId);
  w.varint(received);
  w.varint(lost);
  w.varint(bursts);
  w.varint(reorder);
}

/** Bytes of a CLOSE frame with this reason. */
export function closeFrameLength(code: number, reason: string): number {
  const n = Buffer.byteLength(reason, 'utf8');
  return 1 + varintLength(code) + varintLength(n) + n;
}

/**
 * Writes CLOSE: the session is over (error code 0 for a normal close, the reason for humans and
 * logs). The session close uses this frame rather than a CONTROL message so that it is never
 * ack-eliciting and decodes without protobuf. Send it in a packet of its own or last.
 */
export function encodeClose(w: ByteWriter, code: number, reason: string): void {
  const bytes = utf8Encoder.encode(reason);
  checkRoom(w, 1 + varintLength(code) + varintLength(bytes.length) + bytes.length);
  w.u8(FrameType.Close);
  w.varint(code);
  w.varint(bytes.length);
  w.bytes(bytes);
}

function checkRoom(w: ByteWriter, need: number): void {
  if (need > w.remaining) throw new WireError('overflow', `frame needs ${need} bytes, have ${w.remaining}`);
}
