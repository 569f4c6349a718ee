import { describe, expect, it } from 'vitest';
import type { SeededRng } from '../../src/base/rng.ts';
import { ByteWriter, MAX_U48, MAX_VARINT } from '../../src/wire/bytes.ts';
import { type Control, encodeControl } from '../../src/wire/control.ts';
import { WireError } from '../../src/wire/errors.ts';
import {
  closeFrameLength,
  controlFrameLength,
  decodeFrames,
  encodeAck,
  encodeClose,
  encodeControlFrame,
  encodeMaxData,
  encodeMaxStreamData,
  encodePadding,
  encodePathChallenge,
  encodePathResponse,
  encodePing,
  encodeRepair,
  encodeResetStream,
  encodeStopSending,
  encodeStreamHeader,
  type FrameVisitor,
  FrameType,
  isAckEliciting,
  maxDataLength,
  maxStreamDataLength,
  PATH_FRAME_LEN,
  repairFrameLength,
  resetStreamLength,
  encodeFecSource,
  encodeLossReport,
  fecSourceLength,
  lossReportLength,
  stopSendingLength,
  streamDataCapacity,
  streamHeaderLength,
} from '../../src/wire/frames.ts';
import { anyU53, bytes, int, seeded } from './seed.ts';

/** A decoded frame as plain data, for comparing what went in with what came out. */
type Frame =
  | { kind: 'ping' }
  | { kind: 'ack'; pathId: number; delay: number; ranges: Array<[number, number]> }
  | { kind: 'stream'; streamId: number; offset: number; fin: boolean; data: Uint8Array }
  | { kind: 'reset'; streamId: number; code: number; finalSize: number }
  | { kind: 'stop'; streamId: number; code: number }
  | { kind: 'maxData'; max: number }
  | { kind: 'maxStreamData'; streamId: number; max: number }
  | { kind: 'challenge'; data: Uint8Array }
  | { kind: 'response'; data: Uint8Array }
  | { kind: 'control'; msg: Control }
  | { kind: 'repair'; groupId: number; index: number; k: number; m: number; data: Uint8Array }
  | { kind: 'close'; code: number; reason: string }
  | { kind: 'fecSource'; groupId: number; index: number }
  | { kind: 'lossReport'; pathId: number; received: number; lost: number; bursts: number; reorder: number };

function recorder(out: Frame[]): FrameVisitor {
  return {
    onPing: () => out.push({ kind: 'ping' }),
    onAck: (pathId, delay, ranges) => out.push({ kind: 'ack', pathId, delay, ranges }),
    onStream: (streamId, offset, fin, data) =>
      out.push({ kind: 'stream', streamId, offset, fin, data: Uint8Array.from(data) }),
    onResetStream: (streamId, code, finalSize) => out.push({ kind: 'reset', streamId, code, finalSize }),
    onStopSending: (streamId, code) => out.push({ kind: 'stop', streamId, code }),
    onMaxData: (max) => out.push({ kind: 'maxData', max }),
    onMaxStreamData: (streamId, max) => out.push({ kind: 'maxStreamData', streamId, max }),
    onPathChallenge: (data) => out.push({ kind: 'challenge', data: Uint8Array.from(data) }),
    onPathResponse: (data) => out.push({ kind: 'response', data: Uint8Array.from(data) }),
    onControl: (msg) => out.push({ kind: 'control', msg }),
    onRepair: (groupId, index, k, m, data) =>
      out.push({ kind: 'repair', groupId, index, k, m, data: Uint8Array.from(data) }),
    onClose: (code, reason) => out.push({ kind: 'close', code, reason }),
    onFecSource: (groupId, index) => out.push({ kind: 'fecSource', groupId, index }),
    onLossReport: (pathId, received, lost, bursts, reorder) => out.push({ kind: 'lossReport', pathId, received, lost, bursts, reorder }),
  };
}

function decodeAll(payload: Uint8Array): Frame[] {
  const out: Frame[] = [];
  decodeFrames(payload, recorder(out));
  return out;
}

/** Random descending, non-overlapping, non-adjacent inclusive ranges below 2^48. */
function randomRanges(rng: SeededRng, count: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let hi = rng.next() < 0.2 ? MAX_U48 : int(rng, 0, MAX_U48);
  for (let i = 0; i < count && hi >= 0; i++) {
    const lo = Math.max(0, hi - (rng.next() < 0.8 ? int(rng, 0, 10) : int(rng, 0, 100_000)));
    ranges.push([lo, hi]);
    hi = lo - 2 - (rng.next() < 0.8 ? int(rng, 0, 10) : int(rng, 0, 100_000));
  }
  return ranges;
}

function randomString(rng: SeededRng): string {
  const alphabet = ['a', 'Z', ' ', 'é', '中', '🙂', '\n', '\u0000'];
  let s = '';
  for (let i = int(rng, 0, 30); i > 0; i--) s += alphabet[int(rng, 0, alphabet.length - 1)];
  return s;
}

function randomControl(rng: SeededRng): Control {
  return { streamOpen: { streamId: anyU53(rng), service: randomString(rng) } };
}

/** A random valid frame, and how many bytes its encoding must take. */
function randomFrame(rng: SeededRng): { frame: Frame; length: number } {
  switch (int(rng, 0, 13)) {
    case 0:
      return { frame: { kind: 'ping' }, length: 1 };
    case 1: {
      const ranges = randomRanges(rng, int(rng, 1, 20));
      return { frame: { kind: 'ack', pathId: int(rng, 0, 255), delay: anyU53(rng), ranges }, length: -1 };
    }
    case 2: {
      const data = bytes(rng, int(rng, 0, 300));
      const offset = int(rng, 0, MAX_VARINT - data.length);
      const streamId = anyU53(rng);
      return {
        frame: { kind: 'stream', streamId, offset, fin: rng.next() < 0.5, data },
        length: streamHeaderLength(streamId, offset, data.length) + data.length,
      };
    }
    case 3: {
      const [streamId, code, finalSize] = [anyU53(rng), anyU53(rng), anyU53(rng)];
      return { frame: { kind: 'reset', streamId, code, finalSize }, length: resetStreamLength(streamId, code, finalSize) };
    }
    case 4: {
      const [streamId, code] = [anyU53(rng), anyU53(rng)];
      return { frame: { kind: 'stop', streamId, code }, length: stopSendingLength(streamId, code) };
    }
    case 5: {
      const max = anyU53(rng);
      return { frame: { kind: 'maxData', max }, length: maxDataLength(max) };
    }
    case 6: {
      const [streamId, max] = [anyU53(rng), anyU53(rng)];
      return { frame: { kind: 'maxStreamData', streamId, max }, length: maxStreamDataLength(streamId, max) };
    }
    case 7:
      return { frame: { kind: 'challenge', data: bytes(rng, 8) }, length: PATH_FRAME_LEN };
    case 8:
      return { frame: { kind: 'response', data: bytes(rng, 8) }, length: PATH_FRAME_LEN };
    case 9: {
      const msg = randomControl(rng);
      return { frame: { kind: 'control', msg }, length: controlFrameLength(encodeControl(msg)) };
    }
    case 10: {
      const k = int(rng, 1, 255);
      const m = int(rng, 1, 256 - k);
      const groupId = anyU53(rng);
      const data = bytes(rng, int(rng, 0, 300));
      return {
        frame: { kind: 'repair', groupId, index: int(rng, 0, m - 1), k, m, data },
        length: repairFrameLength(groupId, data.length),
      };
    }
    case 11: {
      const groupId = anyU53(rng);
      return { frame: { kind: 'fecSource', groupId, index: int(rng, 0, 254) }, length: fecSourceLength(groupId) };
    }
    case 12: {
      const [received, lost, bursts, reorder] = [anyU53(rng), anyU53(rng), anyU53(rng), anyU53(rng)];
      return {
        frame: { kind: 'lossReport', pathId: int(rng, 0, 255), received, lost, bursts, reorder },
        length: lossReportLength(received, lost, bursts, reorder),
      };
    }
    default: {
      const code = anyU53(rng);
      const reason = randomString(rng);
      return { frame: { kind: 'close', code, reason }, length: closeFrameLength(code, reason) };
    }
  }
}

function encodeFrame(w: ByteWriter, f: Frame): void {
  switch (f.kind) {
    case 'ping':
      return encodePing(w);
    case 'ack':
      expect(encodeAck(w, f.pathId, f.delay, f.ranges)).toBe(f.ranges.length);
      return;
    case 'stream':
      encodeStreamHeader(w, f.streamId, f.offset, f.data.length, f.fin);
      return w.bytes(f.data);
    case 'reset':
      return encodeResetStream(w, f.streamId, f.code, f.finalSize);
    case 'stop':
      return encodeStopSending(w, f.streamId, f.code);
    case 'maxData':
      return encodeMaxData(w, f.max);
    case 'maxStreamData':
      return encodeMaxStreamData(w, f.streamId, f.max);
    case 'challenge':
      return encodePathChallenge(w, f.data);
    case 'response':
      return encodePathResponse(w, f.data);
    case 'control':
      return encodeControlFrame(w, encodeControl(f.msg));
    case 'repair':
      return encodeRepair(w, f.groupId, f.index, f.k, f.m, f.data);
    case 'close':
      return encodeClose(w, f.code, f.reason);
    case 'fecSource':
      return encodeFecSource(w, f.groupId, f.index);
    case 'lossReport':
      return encodeLossReport(w, f.pathId, f.received, f.lost, f.bursts, f.reorder);
  }
}

/** A random valid payload: frames, then sometimes padding. */
function randomPayload(rng: SeededRng): { payload: Uint8Array; frames: Frame[] } {
  const buf = new Uint8Array(16384);
  const w = new ByteWriter(buf);
  const frames: Frame[] = [];
  for (let n = int(rng, 0, 12); n > 0; n--) {
    const { frame, length } = randomFrame(rng);
    const before = w.pos;
    encodeFrame(w, frame);
    if (length >= 0) expect(w.pos - before, frame.kind).toBe(length);
    frames.push(frame);
  }
  if (rng.next() < 0.3) encodePadding(w, int(rng, 1, 100));
  return { payload: buf.slice(0, w.pos), frames };
}

/** Runs decodeFrames and returns the WireError code, or null when it decoded. */
function decodeOutcome(payload: Uint8Array): string | null {
  try {
    decodeAll(payload);
    return null;
  } catch (e) {
    if (!(e instanceof WireError)) throw new Error(`non-WireError thrown: ${String(e)}`);
    return e.code;
  }
}

describe('frames', () => {
  it(
    'round-trip random frame sequences, with encoded sizes matching the *Length helpers',
    seeded((rng) => {
      for (let i = 0; i < 500; i++) {
        const { payload, frames } = randomPayload(rng);
        expect(decodeAll(payload)).toEqual(frames);
      }
    }),
  );

  it('decode padding-only and empty payloads to nothing', () => {
    expect(decodeAll(new Uint8Array(0))).toEqual([]);
    expect(decodeAll(new Uint8Array(50))).toEqual([]);
  });

  it('reject a non-zero byte after padding', () => {
    expect(decodeOutcome(new Uint8Array([FrameType.Ping, 0, 0, 1]))).toBe('bad-padding');
  });

  it('reject unknown frame types, reserved STREAM flags and bad REPAIR parameters', () => {
    expect(decodeOutcome(new Uint8Array([0x0f]))).toBe('unknown-frame');
    expect(decodeOutcome(new Uint8Array([0xff]))).toBe('unknown-frame');
    expect(decodeOutcome(new Uint8Array([FrameType.Stream, 0x02, 0, 0, 0]))).toBe('bad-flags');
    for (const [index, k, m] of [[0, 0, 1], [0, 1, 0], [2, 1, 2], [0, 200, 57]]) {
      expect(decodeOutcome(new Uint8Array([FrameType.Repair, 0, index, k, m, 0]))).toBe('bad-length');
    }
  });

  it('reject ACK ranges below packet number 0 or above 2^48-1', () => {
    // largest 5, first range 6: lo = -1.
    expect(decodeOutcome(new Uint8Array([FrameType.Ack, 0, 5, 0, 0, 6]))).toBe('bad-ack');
    // largest 5, first range 0, one more range with gap 4: hi = 5 - 4 - 2 = -1.
    expect(decodeOutcome(new Uint8Array([FrameType.Ack, 0, 5, 0, 1, 0, 4, 0]))).toBe('bad-ack');
    // gap 0 puts hi at 3, length 4 puts lo at -1.
    expect(decodeOutcome(new Uint8Array([FrameType.Ack, 0, 5, 0, 1, 0, 0, 4]))).toBe('bad-ack');
    // largest 2^48 (8-byte varint).
    const big = Buffer.from([FrameType.Ack, 0, 0xc0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(decodeOutcome(big)).toBe('bad-ack');
    // A range count larger than the bytes that could hold it.
    expect(decodeOutcome(new Uint8Array([FrameType.Ack, 0, 5, 0, 0x7f, 0xff, 0]))).toBe('bad-length');
  });

  it('reject invalid UTF-8 in CLOSE and bad protobuf in CONTROL', () => {
    expect(decodeOutcome(new Uint8Array([FrameType.Close, 0, 2, 0xc3, 0x28]))).toBe('bad-utf8');
    expect(decodeOutcome(new Uint8Array([FrameType.Control, 2, 0xff, 0xff]))).toBe('bad-control');
    expect(decodeOutcome(new Uint8Array([FrameType.Control, 0]))).toBe('bad-control');
  });

  it(
    'reject every truncation of a valid payload with WireError',
    seeded((rng) => {
      for (let i = 0; i < 100; i++) {
        const { payload } = randomPayload(rng);
        for (let n = 0; n < payload.length; n++) decodeOutcome(payload.subarray(0, n));
      }
    }),
  );

  it(
    'throw nothing but WireError on random and mutated input',
    seeded((rng) => {
      for (let i = 0; i < 3000; i++) {
        decodeOutcome(bytes(rng, int(rng, 0, 64)));
        const { payload } = randomPayload(rng);
        if (payload.length === 0) continue;
        const mutated = Uint8Array.from(payload);
        for (let j = int(rng, 1, 4); j > 0; j--) {
          const at = int(rng, 0, mutated.length - 1);
          mutated[at] = rng.next() < 0.5 ? mutated[at] ^ (1 << int(rng, 0, 7)) : int(rng, 0, 255);
        }
        decodeOutcome(mutated);
      }
    }),
  );

  it('let visitor exceptions through unchanged', () => {
    const boom = new TypeError('visitor bug');
    const visitor = { ...recorder([]), onPing: () => { throw boom; } };
    expect(() => decodeFrames(new Uint8Array([FrameType.Ping]), visitor)).toThrow(boom);
  });
});

describe('ACK encoding', () => {
  it(
    'truncates to maxRanges and to the space left, keeping the newest ranges',
    seeded((rng) => {
      for (let i = 0; i < 300; i++) {
        const ranges = randomRanges(rng, int(rng, 1, 80));
        const space = int(rng, 0, 300);
        const maxRanges = int(rng, 0, 100);
        const w = new ByteWriter(new Uint8Array(space));
        const written = encodeAck(w, 1, 25_000, ranges, maxRanges);
        expect(written).toBeLessThanOrEqual(Math.min(maxRanges, ranges.length));
        if (written === 0) {
          expect(w.pos).toBe(0);
          continue;
        }
        const frames = decodeAll(w.buf.subarray(0, w.pos));
        expect(frames).toEqual([{ kind: 'ack', pathId: 1, delay: 25_000, ranges: ranges.slice(0, written) }]);
        // Maximal: one more range would not have fit (unless capped by count).
        if (written < Math.min(maxRanges, ranges.length)) {
          const bigger = new ByteWriter(new Uint8Array(space + 64));
          encodeAck(bigger, 1, 25_000, ranges, written + 1);
          expect(bigger.pos).toBeGreaterThan(space);
        }
      }
    }),
  );

  it('writes the RFC 9000 §19.3 layout', () => {
    const w = new ByteWriter(new Uint8Array(32));
    expect(encodeAck(w, 2, 100, [[8, 10], [3, 5], [0, 0]])).toBe(3);
    // type, path, largest 10, delay 100 (2 bytes), count 2, first 2, gap 1 len 2, gap 1 len 0.
    expect(Buffer.from(w.buf.subarray(0, w.pos)).toString('hex')).toBe('02020a40640202010201' + '00');
  });

  it('returns 0 for no ranges and refuses unordered, overlapping or adjacent ranges', () => {
    const w = new ByteWriter(new Uint8Array(64));
    expect(encodeAck(w, 0, 0, [])).toBe(0);
    for (const ranges of [[[5, 4]], [[-1, 3]], [[3, 5], [5, 7]], [[3, 5], [2, 2]], [[0, 2 ** 48]]]) {
      expect(() => encodeAck(w, 0, 0, ranges as Array<[number, number]>)).toThrow(WireError);
    }
    expect(w.pos).toBe(0);
  });
});

describe('STREAM sizing', () => {
  it('streamDataCapacity fills the space exactly or as close as the length varint allows', () => {
    const bad: string[] = [];
    for (const [streamId, offset] of [[0, 0], [5, 1000], [2 ** 40, 2 ** 50]]) {
      for (let space = 0; space < 20_000; space++) {
        const cap = streamDataCapacity(space, streamId, offset);
        const fits = cap === 0 || streamHeaderLength(streamId, offset, cap) + cap <= space;
        const maximal = streamHeaderLength(streamId, offset, cap + 1) + cap + 1 > space;
        if (!fits || !maximal) bad.push(`space ${space} id ${streamId} offset ${offset}: ${cap}`);
      }
    }
    expect(bad).toEqual([]);
    expect(streamDataCapacity(2 ** 31, 0, 0)).toBe(2 ** 31 - 12);
  });

  it('refuses a header that would not fit and writes nothing', () => {
    const w = new ByteWriter(new Uint8Array(4));
    expect(() => encodeStreamHeader(w, 1, 70_000, 10, false)).toThrow(WireError);
    expect(w.pos).toBe(0);
    expect(() => encodeStreamHeader(new ByteWriter(new Uint8Array(32)), 1, MAX_VARINT, 1, false)).toThrow(WireError);
  });
});

describe('isAckEliciting', () => {
  it('is false only for ACK, PADDING, CLOSE and LOSS_REPORT', () => {
    const not = new Set<number>([FrameType.Ack, FrameType.Padding, FrameType.Close, FrameType.LossReport]);
    for (const t of Object.values(FrameType)) expect(isAckEliciting(t)).toBe(!not.has(t));
  });
});
