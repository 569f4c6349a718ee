import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../../src/session/api.ts';
import type { SentFrame, SentPacket } from '../../../src/session/ack/sentPacket.ts';
import { CloseCode } from '../../../src/session/closeCode.ts';
import { resolveSessionConfig } from '../../../src/session/config.ts';
import { EventQueue } from '../../../src/session/events.ts';
import { ResetCode } from '../../../src/session/resetCode.ts';
import { writeStreamFrames } from '../../../src/session/stream/frameWriter.ts';
import { Streams } from '../../../src/session/stream/streams.ts';
import { ByteWriter } from '../../../src/wire/bytes.ts';
import { decodeFrames } from '../../../src/wire/frames.ts';

const KiB = 1024;
const RTT = 100;

function setUp(isDialer = true, config: Parameters<typeof resolveSessionConfig>[0] = {}) {
  const events = new EventQueue();
  const violations: Array<{ code: number; reason: string }> = [];
  const streams = new Streams(resolveSessionConfig({ streamWindowBytes: 64 * KiB, sessionWindowBytes: 128 * KiB, ...config }), isDialer, events, (code, reason) =>
    violations.push({ code, reason }),
  );
  const drain = (): SessionEvent[] => {
    const out: SessionEvent[] = [];
    for (let ev = events.poll(); ev !== null; ev = events.poll()) out.push(ev);
    return out;
  };
  /** One packet of at most `room` bytes of what the streams owe, decoded back into frames. */
  const packet = (room = 1300, retransmit = true, now = 0) => {
    const w = new ByteWriter(new Uint8Array(room));
    const frames: SentFrame[] = [];
    writeStreamFrames(now, w, streams, frames, retransmit);
    const seen: string[] = [];
    decodeFrames(w.buf.subarray(0, w.pos), {
      onStream: (id, offset, fin, data) => seen.push(`stream ${id} @${offset}+${data.length}${fin ? ' fin' : ''}`),
      onResetStream: (id, code, size) => seen.push(`reset ${id} code ${code} size ${size}`),
      onMaxData: (max) => seen.push(`maxData ${max}`),
      onMaxStreamData: (id, max) => seen.push(`maxStreamData ${id} ${max}`),
      onControl: (c) => seen.push(`open ${c.streamOpen?.streamId} ${c.streamOpen?.service}`),
      onPing: () => {},
      onAck: () => {},
      onStopSending: () => {},
      onPathChallenge: () => {},
      onPathResponse: () => {},
      onRepair: () => {},
      onClose: () => {},
      onFecSource: () => {},
      onLossReport: () => {},
    });
    const sent = { frames } as SentPacket;
    return { seen, sent };
  };
  return { streams, violations, drain, packet };
}

describe('Streams', () => {
  it('opens even ids for the dialer and announces each stream with its first packet', () => {
    const { streams, packet } = setUp(true);
    expect(streams.open('plex')).toBe(0);
    expect(streams.open('')).toBe(2);
    expect(streams.write(0, new Uint8Array(100))).toBe(100);
    expect(streams.hasElicitingWork).toBe(true);
    expect(packet().seen).toEqual(['open 0 plex', 'open 2 ', 'stream 0 @0+100']);
    expect(streams.hasElicitingWork).toBe(false);
  });

  it('sends new data round-robin across streams and only as far as the peer lets it', () => {
    const { streams, packet } = setUp();
    const a = streams.open('')!;
    const b = streams.open('')!;
    packet();
    streams.write(a, new Uint8Array(3000));
    streams.write(b, new Uint8Array(3000));
    // 600 bytes: a 6-byte STREAM header and 594 of data.
    expect(packet(600).seen).toEqual(['stream 0 @0+594']);
    expect(packet(600).seen).toEqual(['stream 2 @0+594']);
    expect(packet(600).seen).toEqual(['stream 0 @594+593']);
    // The stream window is 64 KiB: a 100 KiB write stops there until MAX_STREAM_DATA.
    const c = streams.open('')!;
    packet();
    streams.write(c, new Uint8Array(100 * KiB));
    let sent = 0;
    for (let i = 0; i < 200; i++) for (const f of packet(60_000).seen) if (f.startsWith('stream 4')) sent += Number(f.split('+')[1]);
    expect(sent).toBe(64 * KiB);
    streams.onMaxStreamData(c, 80 * KiB);
    expect(packet(60_000).seen.filter((f) => f.startsWith('stream 4'))).toEqual([`stream 4 @${64 * KiB}+${16 * KiB}`]);
  });

  it('sends the streams their source paces before a download waiting on a full buffer, round-robin within each', () => {
    const { streams, packet } = setUp(true, { streamWindowBytes: 1024 * KiB, sessionWindowBytes: 4096 * KiB, streamSendBufferBytes: 256 * KiB });
    const download = streams.open('')!;
    const live = streams.open('')!;
    const behind = streams.open('')!;
    packet();
    const streamsOf = (frames: string[]) => frames.map((f) => f.split(' ')[1]);
    // The download's writer is refused room: it outpaces the tunnel.
    expect(streams.write(download, new Uint8Array(300 * KiB))).toBe(256 * KiB);
    streams.write(behind, new Uint8Array(4000));
    streams.write(live, new Uint8Array(2000));
    // The paced streams take turns, the download gets what they leave.
    expect(streamsOf(packet(1300).seen)).toEqual(['4']);
    expect(streamsOf(packet(1300).seen)).toEqual(['2']);
    expect(streamsOf(packet(1300).seen)).toEqual(['4']);
    expect(streamsOf(packet(1300).seen)).toEqual(['2', '4']);
    expect(streamsOf(packet(1300).seen)).toEqual(['4', '0']);
    expect(streamsOf(packet(1300).seen)).toEqual(['0']);
    // A new chunk of the live stream jumps the download's backlog at once.
    streams.write(live, new Uint8Array(500));
    expect(streamsOf(packet(1300).seen)).toEqual(['2', '0']);
  });

  it('among paced streams, sends those least behind first: a download not yet refused room waits behind a live stream, equals take turns', () => {
    const { streams, packet } = setUp(true, { streamWindowBytes: 4096 * KiB, sessionWindowBytes: 8192 * KiB, streamSendBufferBytes: 4096 * KiB });
    const download = streams.open('')!;
    const live = streams.open('')!;
    const other = streams.open('')!;
    packet();
    const streamsOf = (frames: string[]) => frames.map((f) => f.split(' ')[1]);
    // Its buffer still has room: the download counts as paced, but is a megabyte behind.
    expect(streams.write(download, new Uint8Array(1024 * KiB))).toBe(1024 * KiB);
    streams.write(live, new Uint8Array(3000));
    expect(streamsOf(packet(1300).seen)).toEqual(['2']);
    expect(streamsOf(packet(1300).seen)).toEqual(['2']);
    expect(streamsOf(packet(1300).seen)).toEqual(['2', '0']);
    // A relay that read a few chunks at once puts the live stream 100 KiB behind: still far less
    // than the download.
    streams.write(live, new Uint8Array(100 * KiB));
    for (let i = 0; i < 5; i++) expect(streamsOf(packet(1300).seen)).toEqual(['2']);
    // Until it is caught up.
    while (streamsOf(packet(1300).seen)[0] === '2');
    // Two live streams as far behind take turns, whichever was served last.
    streams.write(live, new Uint8Array(20 * KiB));
    streams.write(other, new Uint8Array(20 * KiB));
    expect(streamsOf(packet(1300).seen)).toEqual(['2']);
    expect(streamsOf(packet(1300).seen)).toEqual(['4']);
    expect(streamsOf(packet(1300).seen)).toEqual(['2']);
  });

  it('a stream that kept up for a second and falls behind past its unsent cap goes before a download for 4 s, then takes turns with it', () => {
    const { streams, packet } = setUp(true, { streamWindowBytes: 64 * 1024 * KiB, sessionWindowBytes: 128 * 1024 * KiB, streamUnsentBytes: 256 * KiB });
    const download = streams.open('')!;
    const live = streams.open('')!;
    const streamsOf = (frames: string[]) => frames.map((f) => f.split(' ')[1]);
    packet();
    expect(streams.write(download, new Uint8Array(300 * KiB))).toBe(256 * KiB);
    // 16 KiB every 2 ms for a second, each sent at once (the download, always refused, takes the rest).
    let now = 0;
    for (; now <= 1000; now += 2) {
      streams.write(live, new Uint8Array(16 * KiB));
      streams.write(download, new Uint8Array(16 * KiB));
      while (streamsOf(packet(1300, true, now).seen)[0] === '2');
    }
    // A failover: the paths took nothing for a while, and the stream's writer is refused room.
    // Both writers have more waiting (in their TCP sockets) and write whenever they may.
    const chunk = new Uint8Array(16 * KiB);
    const firstOfEach = (count: number, at: number, writers: number[]): string[] =>
      Array.from({ length: count }, () => {
        for (const id of writers) streams.write(id, chunk);
        return streamsOf(packet(1300, true, at).seen)[0];
      });
    expect(streams.write(live, new Uint8Array(300 * KiB))).toBeLessThan(300 * KiB);
    expect(firstOfEach(8, now, [live, download])).toEqual(Array(8).fill('2'));
    expect(firstOfEach(8, now + 3900, [live, download])).toEqual(Array(8).fill('2'));
    // Still behind 4 s after it last kept up: a download by now, the two take turns.
    const later = firstOfEach(8, now + 4000, [live, download]);
    expect(later.filter((s) => s === '0').length).toBeGreaterThanOrEqual(3);
    expect(later.filter((s) => s === '2').length).toBeGreaterThanOrEqual(3);
    // A stream refused room that never kept up for a second (a download's first moments) is not paced.
    const fresh = streams.open('')!;
    packet(1300, true, now + 4000);
    expect(streams.write(fresh, new Uint8Array(300 * KiB))).toBe(256 * KiB);
    const next = firstOfEach(9, now + 4000, [live, download, fresh]);
    expect(next.filter((s) => s === String(fresh)).length).toBe(3);
  });

  it('resends lost data before new data, and settles acknowledged data out of the send buffer', () => {
    const { streams, packet } = setUp();
    const id = streams.open('')!;
    packet();
    streams.write(id, new Uint8Array(2000));
    const first = packet(1000);
    const second = packet(1000);
    streams.framesLost(first.sent);
    streams.write(id, new Uint8Array(10));
    expect(first.seen).toEqual(['stream 0 @0+994']);
    expect(second.seen).toEqual(['stream 0 @994+993']);
    expect(packet(1300).seen).toEqual(['stream 0 @0+994', 'stream 0 @1987+23']);
    expect(streams.counters.retransmittedBytes).toBe(994);
    streams.framesAcked(second.sent);
    expect(streams.backlogBytes(0, Infinity)).toBe(0);
  });

  it('reads return the window a quarter at a time, as MAX_STREAM_DATA and MAX_DATA', () => {
    const { streams, drain, packet } = setUp(false);
    streams.onStreamOpen(0, 'svc');
    streams.onStream(0, 0, false, new Uint8Array(20 * KiB));
    expect(drain()).toEqual([
      { type: 'streamOpened', streamId: 0, service: 'svc' },
      { type: 'streamReadable', streamId: 0 },
    ]);
    expect((streams.read(0, Infinity, 0, RTT) as Uint8Array).length).toBe(20 * KiB);
    expect(packet().seen).toEqual([`maxStreamData 0 ${84 * KiB}`]);
    streams.onStream(0, 20 * KiB, false, new Uint8Array(20 * KiB));
    streams.read(0, Infinity, 0, RTT);
    expect(packet().seen).toEqual([`maxData ${168 * KiB}`, `maxStreamData 0 ${104 * KiB}`]);
  });

  it('starts a stream small and doubles its window while the reader keeps up, up to the largest; a slow reader keeps it', () => {
    const { streams, packet } = setUp(false, { initialStreamWindowBytes: 64 * KiB, streamWindowBytes: 256 * KiB, sessionWindowBytes: 4096 * KiB });
    streams.onStreamOpen(0, 'fast');
    streams.onStreamOpen(4, 'paused');
    // The fast reader takes 32 KiB every 10 ms (well within the 100 ms round trip).
    const advertised = (id: number): number => {
      const update = packet(4000).seen.find((f) => f.startsWith(`maxStreamData ${id} `));
      return update === undefined ? NaN : Number(update.split(' ')[2]);
    };
    let offset = 0;
    let window = 64 * KiB;
    const windows: number[] = [];
    for (let now = 0; now < 500; now += 10) {
      if (offset + 32 * KiB > window) break;
      streams.onStream(0, offset, false, new Uint8Array(32 * KiB));
      offset += 32 * KiB;
      streams.read(0, Infinity, now, RTT);
      const max = advertised(0);
      if (!Number.isNaN(max)) {
        window = max;
        windows.push(max - offset);
      }
    }
    expect(windows[0]).toBe(64 * KiB);
    expect(Math.max(...windows)).toBe(256 * KiB);
    expect(offset).toBeGreaterThan(512 * KiB);
    // The paused reader read its first 48 KiB over 5 s: its window never grows past where it began.
    for (let now = 0, at = 0; at < 48 * KiB; now += 1000, at += 16 * KiB) {
      streams.onStream(4, at, false, new Uint8Array(16 * KiB));
      streams.read(4, Infinity, now, RTT);
    }
    expect(advertised(4)).toBe(48 * KiB + 64 * KiB);
  });

  it('counts the data it sends of source-paced streams, not of a download refused room', () => {
    const { streams, packet } = setUp(true, { streamSendBufferBytes: 64 * KiB, sessionSendBufferBytes: 1024 * KiB });
    const live = streams.open('live')!;
    const download = streams.open('files')!;
    expect(streams.write(download, new Uint8Array(80 * KiB))).toBe(64 * KiB);
    expect(streams.write(live, new Uint8Array(2 * KiB))).toBe(2 * KiB);
    let sent = 0;
    for (let i = 0; i < 10; i++) sent += packet(1300).seen.filter((f) => f.startsWith('stream')).length;
    expect(sent).toBeGreaterThan(2);
    // The live stream's 2 KiB went first and counted; the download's packets after it did not.
    expect(streams.sourcePacedSent).toBe(2 * KiB);
  });

  it('closes on data beyond the stream window, and on a stream id beyond the peer limit', () => {
    const over = setUp(false);
    over.streams.onStream(0, 64 * KiB - 10, false, new Uint8Array(11));
    expect(over.violations).toEqual([{ code: CloseCode.FlowControl, reason: 'stream 0 exceeded its flow-control window' }]);

    const far = setUp(false, { maxStreams: 4 });
    far.streams.onStream(2_000_000, 0, false, new Uint8Array(10));
    expect(far.violations.map((v) => v.code)).toEqual([CloseCode.ProtocolViolation]);
    expect(far.streams.activeCount).toBe(0);
  });

  it('refuses the peer streams beyond maxStreams with a reset, and checks a reset final size', () => {
    const { streams, violations, drain, packet } = setUp(false, { maxStreams: 2 });
    for (const id of [0, 2, 4]) streams.onStreamOpen(id, '');
    expect(packet().seen).toEqual([`reset 4 code ${ResetCode.Refused} size 0`]);
    drain();
    streams.onStream(0, 0, false, new Uint8Array(500));
    streams.onResetStream(0, ResetCode.Aborted, 100);
    expect(violations.map((v) => v.code)).toEqual([CloseCode.ProtocolViolation]);
    streams.onResetStream(2, ResetCode.Aborted, 1000);
    expect(drain()).toEqual([
      { type: 'streamReadable', streamId: 0 },
      { type: 'streamReset', streamId: 2, code: ResetCode.Aborted },
    ]);
    // Our reply carries our final size; once it is acknowledged the stream is freed.
    const reply = packet();
    expect(reply.seen).toEqual([`reset 2 code ${ResetCode.Aborted} size 0`]);
    streams.framesAcked(reply.sent);
    expect(drain()).toEqual([{ type: 'streamClosed', streamId: 2 }]);
  });

  it('a stream reset with data still unsent is not queued again by more window for the session or the stream', () => {
    const { streams, packet } = setUp(true, { streamWindowBytes: 16 * KiB, sessionWindowBytes: 8 * KiB });
    const id = streams.open('')!;
    packet();
    streams.write(id, new Uint8Array(64 * KiB));
    for (let i = 0; i < 10; i++) packet();
    expect(streams.sentData).toBe(8 * KiB);
    streams.reset(id, ResetCode.Aborted);
    // More window arrives before the reset is acknowledged.
    streams.onMaxData(1024 * KiB);
    streams.onMaxStreamData(id, 1024 * KiB);
    expect(packet().seen).toEqual([`reset 0 code ${ResetCode.Aborted} size ${8 * KiB}`]);
    expect(packet().seen).toEqual([]);
    expect(streams.hasElicitingWork).toBe(false);
  });

  it('wakes a writer refused room only once a worthwhile amount frees up', () => {
    const { streams, drain, packet } = setUp(true, { streamSendBufferBytes: 64 * KiB });
    const id = streams.open('')!;
    packet();
    expect(streams.write(id, new Uint8Array(100 * KiB))).toBe(64 * KiB);
    const small = packet(1000);
    streams.framesAcked(small.sent);
    streams.wakeBlockedWriters();
    expect(drain()).toEqual([]);
    const sent: SentPacket[] = [];
    for (let i = 0; i < 20; i++) sent.push(packet(1300).sent);
    for (const p of sent) streams.framesAcked(p);
    streams.wakeBlockedWriters();
    expect(drain()).toEqual([{ type: 'streamWritable', streamId: id }]);
  });
});
