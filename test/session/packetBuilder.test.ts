import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/base/rng.ts';
import { resolveSessionConfig } from '../../src/session/config.ts';
import { EventQueue } from '../../src/session/events.ts';
import { PacketBuilder } from '../../src/session/packetBuilder.ts';
import { PathManager } from '../../src/session/pathManager.ts';
import { Recovery } from '../../src/session/recovery/recovery.ts';
import { Streams } from '../../src/session/stream/streams.ts';
import type { Transmit } from '../../src/session/api.ts';
import { decodeFrames, type FrameVisitor } from '../../src/wire/frames.ts';
import { RecvKeys, SendKeys } from '../../src/wire/keyUpdate.ts';

const KEY = new Uint8Array(32).fill(7);
const SESSION_ID = 0x1234;

/** A dialer-side builder over real paths, streams and recovery; no FEC. */
function setUp() {
  const config = resolveSessionConfig({});
  const events = new EventQueue();
  const streams = new Streams(config, true, events, () => {});
  const recovery = new Recovery(streams, config.maxAckDelayMs);
  const paths = new PathManager(config, recovery, events);
  const builder = new PacketBuilder(config, new SendKeys(KEY, SESSION_ID, 0), paths, streams, recovery, null, null, new SeededRng(1));
  const opener = new RecvKeys(KEY);
  const a = paths.pathFor(0);
  const b = paths.pathFor(1);
  paths.markUp(a, 0);
  paths.markUp(b, 0);
  /** Opens a transmit and lists its frames, as the peer would read them. */
  const read = (t: Transmit): { pathId: number; pn: number; frames: string[] } => {
    const packet = opener.open(t.bytes, 0)!;
    const frames: string[] = [];
    const visitor: FrameVisitor = {
      onPing: () => frames.push('ping'),
      onAck: (pathId, _delay, ranges) => frames.push(`ack ${pathId} ${JSON.stringify(ranges)}`),
      onStream: (id, offset, fin, data) => frames.push(`stream ${id} @${offset}+${data.length}${fin ? ' fin' : ''}`),
      onResetStream: () => frames.push('reset'),
      onStopSending: () => frames.push('stop'),
      onMaxData: () => frames.push('maxData'),
      onMaxStreamData: () => frames.push('maxStreamData'),
      onPathChallenge: (data) => frames.push(`challenge ${data.length}`),
      onPathResponse: (data) => frames.push(`response ${[...data].join(',')}`),
      onControl: (c) => frames.push(`open ${c.streamOpen?.streamId}`),
      onRepair: () => frames.push('repair'),
      onClose: (code, reason) => frames.push(`close ${code} ${reason}`),
      onFecSource: () => frames.push('fecSource'),
      onLossReport: (pathId, received, lost) => frames.push(`lossReport ${pathId} ${received}/${lost}`),
    };
    decodeFrames(packet.payload, visitor);
    expect(packet.pathId).toBe(t.pathId);
    return { pathId: packet.pathId, pn: packet.pn, frames };
  };
  return { builder, paths, streams, recovery, a, b, read };
}

describe('PacketBuilder', () => {
  it('an ACK-only packet carries the path ACK and is not tracked in flight', () => {
    const { builder, a, read } = setUp();
    a.received.onPacket(0, 0, true);
    a.received.onPacket(1, 1, true);
    const t = builder.ack(5, a);
    expect(read(t)).toEqual({ pathId: 0, pn: 0, frames: ['ack 0 [[0,1]]'] });
    expect(a.bytesInFlight).toBe(0);
    expect(a.received.hasNewInfo).toBe(false);
    expect(a.counters.packetsSent).toBe(1);
  });

  it('a data packet carries an owed PING, the stream open and its data, numbered per path, and is tracked', () => {
    const { builder, streams, a, b, read } = setUp();
    const id = streams.open('svc')!;
    streams.write(id, new Uint8Array(100));
    a.probesPending = 2;
    const first = builder.data(1, a, true);
    expect(read(first)).toEqual({ pathId: 0, pn: 0, frames: ['ping', 'open 0', 'stream 0 @0+100'] });
    expect(a.probesPending).toBe(1);
    expect(a.bytesInFlight).toBe(first.bytes.length);
    expect(a.history.count).toBe(1);
    // With nothing owed it is still ack-eliciting: a lone PING.
    expect(read(builder.data(2, a, true))).toEqual({ pathId: 0, pn: 1, frames: ['ping'] });
    expect(a.probesPending).toBe(0);
    expect(read(builder.data(2, b, true)).pn).toBe(0);
  });

  it('a silence ping carries no stream data, only the ACKs owed, and is tracked', () => {
    const { builder, streams, a, read } = setUp();
    const id = streams.open('svc')!;
    streams.write(id, new Uint8Array(100));
    a.received.onPacket(1, 0, true);
    a.silencePingDue = true;
    const t = builder.ping(3, a);
    expect(read(t)).toEqual({ pathId: 0, pn: 0, frames: ['ack 0 [[0,0]]', 'ping'] });
    expect(a.silencePingDue).toBe(false);
    expect(a.history.count).toBe(1);
    expect(a.elicitingInFlight).toBe(1);
    expect(streams.hasNewWork).toBe(true);
  });

  it('stamps the packet that empties the send queue app-limited, and one sent with more to come not', () => {
    const { builder, streams, recovery, a } = setUp();
    const id = streams.open('svc')!;
    streams.write(id, new Uint8Array(5000));
    builder.data(1, a, true);
    expect(a.history.get(0)!.isAppLimited).toBe(false);
    for (let pn = 1; streams.hasElicitingWork; pn++) builder.data(1, a, true);
    expect(a.history.get(a.history.nextPn - 1)!.isAppLimited).toBe(true);
    // A keep-alive from a side with nothing to send, once everything was acknowledged: its ACK
    // says nothing of the path (three such once ended start-up on a 0.01 Mbit/s estimate).
    recovery.onAck(200, a, [[0, a.history.nextPn - 1]], 0, true);
    expect(a.bytesInFlight).toBe(0);
    a.probesPending = 1;
    builder.data(5000, a, true);
    expect(a.history.get(a.history.nextPn - 1)!.isAppLimited).toBe(true);
  });

  it('carries the ACKs of a path that is down, and a loss report that is due', () => {
    const { builder, paths, a, b, read } = setUp();
    b.received.onPacket(0, 4, true);
    paths.markDown(b, 1, 'test');
    a.lossMeter.onPacket(0);
    a.lossReportDueAt = 3;
    expect(read(builder.ack(3, a)).frames).toEqual(['lossReport 0 1/0', 'ack 1 [[4,4]]']);
    expect(a.lossReportDueAt).toBe(Infinity);
  });

  it('a path probe echoes the peer challenge and sends our own when one is due', () => {
    const { builder, a, read } = setUp();
    a.responsePending = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    a.challengeDueAt = 10;
    expect(read(builder.pathProbe(10, a)).frames).toEqual(['response 1,2,3,4,5,6,7,8', 'challenge 8']);
    expect(a.responsePending).toBeNull();
    expect(a.challenges).toHaveLength(1);
    expect(a.challengeDueAt).toBe(10 + resolveSessionConfig({}).pathProbeIntervalMs);
    expect(a.bytesInFlight).toBe(0);
  });

  it('re-challenges a path never validated after 100, 200, 400 ms, then the probe interval, keeping the last four challenges', () => {
    const { builder, paths, read } = setUp();
    const fresh = paths.pathFor(2);
    const interval = resolveSessionConfig({}).pathProbeIntervalMs;
    fresh.challengeDueAt = 0;
    const sentAt: number[] = [];
    for (let now = 0; now <= 2000 && sentAt.length < 6; now++) {
      if (fresh.challengeDueAt > now) continue;
      expect(read(builder.pathProbe(now, fresh)).frames).toContain('challenge 8');
      sentAt.push(now);
    }
    expect(sentAt).toEqual([0, 100, 300, 700, 700 + interval, 700 + 2 * interval]);
    expect(fresh.challenges).toHaveLength(4);
  });

  it('a CLOSE packet carries the code and reason', () => {
    const { builder, b, read } = setUp();
    expect(read(builder.close(0, b, 1, 'bad peer')).frames).toEqual(['close 1 bad peer']);
  });
});
