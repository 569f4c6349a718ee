import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/session/api.ts';
import type { SentPacket } from '../../src/session/ack/sentPacket.ts';
import { CloseCode } from '../../src/session/closeCode.ts';
import { resolveSessionConfig } from '../../src/session/config.ts';
import { EventQueue } from '../../src/session/events.ts';
import { FrameHandler } from '../../src/session/frameHandler.ts';
import { PathManager } from '../../src/session/pathManager.ts';
import { Recovery } from '../../src/session/recovery/recovery.ts';
import { Streams } from '../../src/session/stream/streams.ts';
import { ByteWriter } from '../../src/wire/bytes.ts';
import { WireError } from '../../src/wire/errors.ts';
import {
  encodeAck,
  encodeClose,
  encodeFecSource,
  encodeLossReport,
  encodeMaxData,
  encodePathChallenge,
  encodePing,
  encodeStreamHeader,
} from '../../src/wire/frames.ts';

/** A listener-side handler over real streams, recovery and paths, with what it did recorded. */
function setUp() {
  const config = resolveSessionConfig({});
  const events = new EventQueue();
  const violations: Array<[number, string]> = [];
  const closes: string[] = [];
  const violation = (code: number, reason: string): void => void violations.push([code, reason]);
  const streams = new Streams(config, false, events, violation);
  const recovery = new Recovery(streams, config.maxAckDelayMs);
  const paths = new PathManager(config, recovery, events);
  const restored: Uint8Array[] = [];
  const handler = new FrameHandler(streams, recovery, paths, null, null, restored, { violation, peerClosed: (r) => void closes.push(r) });
  const path = paths.pathFor(0);
  paths.markUp(path, 0);
  const drain = (): SessionEvent[] => {
    const out: SessionEvent[] = [];
    for (let ev = events.poll(); ev !== null; ev = events.poll()) out.push(ev);
    return out;
  };
  drain();
  const payload = (write: (w: ByteWriter) => void): Uint8Array => {
    const w = new ByteWriter(new Uint8Array(1300));
    write(w);
    return w.buf.subarray(0, w.pos);
  };
  return { handler, paths, path, streams, violations, closes, drain, payload };
}

describe('FrameHandler', () => {
  it('reports a packet of only ACKs as not ack-eliciting, and one with a PING as eliciting', () => {
    const { handler, path, payload } = setUp();
    const ackOnly = handler.handle(10, path, payload((w) => encodeAck(w, 0, 0, [[0, 0]])), false);
    // The ACK names a packet never sent: a violation, but the packet itself elicits nothing.
    expect(ackOnly.eliciting).toBe(false);
    const ping = handler.handle(11, path, payload((w) => encodePing(w)), false);
    expect(ping.eliciting).toBe(true);
    expect(ping.now).toBe(11);
    expect(ping.path).toBe(path);
  });

  it('hands the FEC_SOURCE group and index back, and resets them for the next packet', () => {
    const { handler, path, payload } = setUp();
    const rx = handler.handle(0, path, payload((w) => {
      encodeFecSource(w, 77, 5);
      encodePing(w);
    }), false);
    expect([rx.fecGroup, rx.fecIndex]).toEqual([77, 5]);
    expect(handler.handle(1, path, payload((w) => encodePing(w)), false).fecGroup).toBe(-1);
  });

  it('acknowledges through recovery, judging the RTT by the path the ACK came on', () => {
    const { handler, paths, path, payload } = setUp();
    const other = paths.pathFor(1);
    paths.markUp(other, 0);
    for (const p of [path, other]) {
      const packet: SentPacket = { pn: p.nextPn++, timeSent: 0, size: 1200, ackEliciting: true, frames: [], delivered: 0, deliveredTime: 0, firstSentTime: 0, isAppLimited: false, fecGroup: null };
      p.history.add(packet);
      p.bytesInFlight += packet.size;
      p.elicitingInFlight++;
    }
    handler.handle(30, path, payload((w) => {
      encodeAck(w, 0, 0, [[0, 0]]);
      encodeAck(w, 1, 0, [[0, 0]]);
    }), false);
    expect(path.bytesInFlight).toBe(0);
    expect(other.bytesInFlight).toBe(0);
    expect(path.rtt.latest).toBe(30);
    // Path 1's ACK came back on path 0: it measures both paths, so it is no sample of path 1.
    expect(other.rtt.latest).not.toBe(30);
  });

  it('closes for an ACK of a packet never sent', () => {
    const { handler, path, violations, payload } = setUp();
    handler.handle(0, path, payload((w) => encodeAck(w, 0, 0, [[5, 5]])), false);
    expect(violations).toEqual([[CloseCode.ProtocolViolation, 'ACK of unsent packet 5 on path 0']]);
  });

  it('delivers stream data and window updates to the streams', () => {
    const { handler, path, streams, drain, payload } = setUp();
    handler.handle(0, path, payload((w) => {
      encodeStreamHeader(w, 0, 0, 3, true);
      w.buf.set([1, 2, 3], w.pos);
      w.pos += 3;
      encodeMaxData(w, 1 << 30);
    }), false);
    expect(streams.get(0)!.recv.held).toBeGreaterThan(0);
    expect(streams.sendCredit).toBe(1 << 30);
    // Data of a stream not yet announced waits for its StreamOpen: no event yet.
    expect(drain()).toEqual([]);
  });

  it('answers a PATH_CHALLENGE on the path it came on, and takes in a loss report only after start-up', () => {
    const { handler, path, payload } = setUp();
    handler.handle(0, path, payload((w) => encodePathChallenge(w, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))), false);
    expect([...path.responsePending!]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    handler.handle(0, path, payload((w) => encodeLossReport(w, 0, 1000, 50, 10, 7)), false);
    // Reordering counts at once; the loss of a path still in start-up does not.
    expect(path.reorderDistance).toBe(7);
    expect(path.counters.reportedLost).toBe(0);
  });

  it('ends the session on CLOSE, and lets a malformed frame throw a WireError', () => {
    const { handler, path, closes, payload } = setUp();
    handler.handle(0, path, payload((w) => encodeClose(w, 0, '')), false);
    expect(closes).toEqual(['closed by peer']);
    expect(() => handler.handle(0, path, Uint8Array.of(0xee, 1, 2), false)).toThrow(WireError);
  });
});
