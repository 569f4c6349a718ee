import { describe, expect, it } from 'vitest';
import type { SessionEvent, StreamId } from '../../src/session/api.ts';
import { ResetCode } from '../../src/session/resetCode.ts';
import type { Session } from '../../src/session/session.ts';
import { symmetric, transPacific } from '../../src/sim/network.ts';
import { ByteWriter } from '../../src/wire/bytes.ts';
import { encodeStreamHeader } from '../../src/wire/frames.ts';
import type { SendKeys } from '../../src/wire/keyUpdate.ts';
import { PatternReader, PatternWriter, tunnelPair } from '../support/tunnelPair.ts';

const MiB = 1024 * 1024;

/** Runs a pair where the dialer opens `count` streams of `bytes` each towards the listener. */
function manyStreams(opts: { count: number; bytes: number; seed: number; lossRate: number; stalled?: Set<number>; limitMs: number }) {
  const { dialer, listenerNode, net } = tunnelPair({ paths: [transPacific({ lossRate: opts.lossRate })], seed: opts.seed });
  const writers: PatternWriter[] = [];
  const readers = new Map<StreamId, PatternReader>();
  const order: StreamId[] = [];
  let paused = opts.stalled ?? new Set<number>();
  net.onStep((now) => {
    const server = listenerNode.sessions[0];
    if (writers.length === 0 && dialer.isConnected) {
      for (let i = 0; i < opts.count; i++) writers.push(new PatternWriter(dialer, dialer.openStream()!, opts.bytes, 16 * 1024));
    }
    for (let ev = dialer.pollEvent(); ev !== null; ev = dialer.pollEvent());
    if (server !== undefined) {
      for (let ev = server.pollEvent(); ev !== null; ev = server.pollEvent()) {
        if (ev.type === 'streamOpened') {
          readers.set(ev.streamId, new PatternReader(server, ev.streamId));
          order.push(ev.streamId);
        }
      }
    }
    for (const w of writers) w.pump();
    order.forEach((id, index) => readers.get(id)!.pump(now, paused.has(index)));
  });
  const allDone = () => readers.size === opts.count && [...readers.values()].every((r, i) => r.fin || paused.has(i));
  return {
    net,
    readers: () => order.map((id) => readers.get(id)!),
    server: () => listenerNode.sessions[0],
    run: (until: number) => net.runUntil(until, allDone),
    resume: () => {
      paused = new Set();
    },
  };
}

describe('many streams in one session', () => {
  it('100 concurrent streams over 3% loss all arrive intact and share the path fairly', () => {
    const seed = 21;
    const t = manyStreams({ count: 100, bytes: 512 * 1024, seed, lossRate: 0.03, limitMs: 30_000 });
    expect(t.run(30_000), `seed ${seed}: not all streams finished`).toBe(true);
    const readers = t.readers();
    for (const r of readers) {
      expect(r.corruptAt, `seed ${seed} stream ${r.streamId}`).toBe(-1);
      expect(r.received).toBe(512 * 1024);
    }
    const finishes = readers.map((r) => r.finAt).sort((a, b) => a - b);
    const first = finishes[0];
    const last = finishes[finishes.length - 1];
    // Round-robin: nobody finishes before most of the transfer is done.
    expect(first, `seed ${seed}: first ${first} last ${last}`).toBeGreaterThan(0.6 * last);
  });

  it('a stalled reader holds at most its window and does not stall the other streams', () => {
    const seed = 22;
    const stalled = new Set([0]);
    const t = manyStreams({ count: 8, bytes: 24 * MiB, seed, lossRate: 0.01, stalled, limitMs: 60_000 });
    expect(t.run(60_000), `seed ${seed}`).toBe(true);
    const readers = t.readers();
    for (const r of readers.slice(1)) {
      expect(r.corruptAt).toBe(-1);
      expect(r.received).toBe(24 * MiB);
    }
    expect(readers[0].received).toBe(0);
    const server = t.server();
    // The stalled stream's unread data is bounded by its flow-control window.
    const buffered = (server as unknown as { streams: Map<number, { recv: { buffered: number } }> }).streams.get(readers[0].streamId)!.recv.buffered;
    expect(buffered).toBeLessThanOrEqual(server.config.streamWindowBytes);
    expect(buffered).toBeGreaterThan(0);
    t.resume();
    expect(t.run(t.net.now + 30_000)).toBe(true);
    expect(readers[0].received).toBe(24 * MiB);
    expect(readers[0].corruptAt).toBe(-1);
  });
});

function collect(session: Session | undefined, into: SessionEvent[]): void {
  if (session === undefined) return;
  for (let ev = session.pollEvent(); ev !== null; ev = session.pollEvent()) into.push(ev);
}

describe('stream lifecycle', () => {
  it('FIN half-closes one direction; the other keeps flowing; both sides then free the stream', () => {
    const { dialer, listenerNode, net } = tunnelPair({ paths: [transPacific({ lossRate: 0.05 })], seed: 31 });
    const dialerEvents: SessionEvent[] = [];
    const serverEvents: SessionEvent[] = [];
    let id = -1;
    let request: PatternWriter | null = null;
    let requestReader: PatternReader | null = null;
    let response: PatternWriter | null = null;
    let responseReader: PatternReader | null = null;
    net.onStep((now) => {
      const server = listenerNode.sessions[0];
      if (id < 0 && dialer.isConnected) {
        id = dialer.openStream('web')!;
        request = new PatternWriter(dialer, id, 100_000);
        responseReader = new PatternReader(dialer, id);
      }
      collect(dialer, dialerEvents);
      const before = serverEvents.length;
      collect(server, serverEvents);
      for (const ev of serverEvents.slice(before)) {
        if (ev.type === 'streamOpened') requestReader = new PatternReader(server!, ev.streamId);
      }
      request?.pump();
      requestReader?.pump(now);
      // The server answers only once the request side is finished: a half-closed stream still carries data back.
      if (requestReader?.fin && response === null) response = new PatternWriter(server!, id, 3 * MiB);
      response?.pump();
      (responseReader as PatternReader | null)?.pump(now);
    });
    net.runUntil(20_000, () => serverEvents.some((e) => e.type === 'streamClosed') && dialerEvents.some((e) => e.type === 'streamClosed'));
    expect(requestReader!.received).toBe(100_000);
    expect(requestReader!.fin).toBe(true);
    expect(responseReader!.received).toBe(3 * MiB);
    expect(responseReader!.corruptAt).toBe(-1);
    expect(serverEvents.find((e) => e.type === 'streamOpened')).toMatchObject({ service: 'web' });
    expect(dialerEvents.some((e) => e.type === 'streamClosed')).toBe(true);
    expect(serverEvents.some((e) => e.type === 'streamClosed')).toBe(true);
    expect(dialer.stats().activeStreams).toBe(0);
    expect(listenerNode.sessions[0].stats().activeStreams).toBe(0);
  });

  it('a reset reaches the peer, frees both sides, and leaks no session window', () => {
    const sessionWindow = 4 * MiB;
    const { dialer, listenerNode, net } = tunnelPair({
      paths: [transPacific({ lossRate: 0.03 })],
      seed: 32,
      config: { sessionWindowBytes: sessionWindow, streamWindowBytes: 2 * MiB },
    });
    const serverEvents: SessionEvent[] = [];
    const resetIds: StreamId[] = [];
    let phase = 0;
    let bulk: PatternWriter | null = null;
    let bulkReader: PatternReader | null = null;
    net.onStep((now) => {
      const server = listenerNode.sessions[0];
      for (let ev = dialer.pollEvent(); ev !== null; ev = dialer.pollEvent());
      const before = serverEvents.length;
      collect(server, serverEvents);
      for (const ev of serverEvents.slice(before)) {
        if (ev.type === 'streamOpened' && phase === 2) bulkReader = new PatternReader(server!, ev.streamId);
      }
      if (phase === 0 && dialer.isConnected) {
        // Twenty streams each push a megabyte the server never reads, then get reset mid-flight.
        for (let i = 0; i < 20; i++) {
          const sid = dialer.openStream()!;
          new PatternWriter(dialer, sid, MiB).pump();
          resetIds.push(sid);
        }
        phase = 1;
        net.at(now + 150, () => {
          for (const sid of resetIds) dialer.streamReset(sid, ResetCode.Aborted);
          phase = 2;
          bulk = new PatternWriter(dialer, dialer.openStream()!, 12 * MiB);
        });
      }
      bulk?.pump();
      if (bulk !== null) dialer.streamRead((bulk as PatternWriter).streamId);
      (bulkReader as PatternReader | null)?.pump(now);
    });
    net.runUntil(30_000, () => (bulkReader as PatternReader | null)?.fin === true);
    listenerNode.sessions[0].streamFinish(bulkReader!.streamId);
    net.kick();
    const resets = serverEvents.filter((e) => e.type === 'streamReset');
    expect(resets.length).toBeGreaterThan(0);
    for (const r of resets) expect(r).toMatchObject({ code: ResetCode.Aborted });
    // Three times the session window flowed after the resets: their bytes were given back.
    expect(bulkReader!.received).toBe(12 * MiB);
    expect(bulkReader!.corruptAt).toBe(-1);
    net.runUntil(net.now + 2000);
    expect(dialer.stats().activeStreams).toBe(0);
    expect(listenerNode.sessions[0].stats().activeStreams).toBe(0);
  });
});

describe('session lifecycle', () => {
  it('a dialer with the wrong key never connects and the listener never answers', () => {
    const { dialer, listenerNode, net } = tunnelPair({ paths: [symmetric({ delayMs: 20 })], seed: 41 });
    (dialer as unknown as { handshake: { psk: Uint8Array } }).handshake.psk.fill(9);
    const events: SessionEvent[] = [];
    net.onStep(() => collect(dialer, events));
    net.runUntil(20_000);
    expect(events.some((e) => e.type === 'connected')).toBe(false);
    expect(events.find((e) => e.type === 'closed')).toMatchObject({ byPeer: false });
    expect(listenerNode.sessions.length).toBe(0);
    expect(listenerNode.listener.stats.authFailures).toBeGreaterThan(0);
    expect(net.links[0].bToA.stats.sent).toBe(0);
  });

  it('a dead path ends the session on both sides by idle timeout, and resets its streams', () => {
    const { dialer, listenerNode, net } = tunnelPair({ paths: [symmetric({ delayMs: 50 })], seed: 42, config: { idleTimeoutMs: 3000 } });
    const dialerEvents: SessionEvent[] = [];
    const serverEvents: SessionEvent[] = [];
    // The listener forgets a session once it closed, as the driver does: read it from `closed`.
    net.onStep(() => {
      collect(dialer, dialerEvents);
      collect(listenerNode.sessions[0] ?? listenerNode.closed[0], serverEvents);
    });
    net.runUntil(1000);
    expect(dialer.isConnected).toBe(true);
    dialer.openStream();
    net.kick();
    for (const l of net.links) {
      l.aToB.setConfig({ blackouts: [{ fromMs: 1000, toMs: 1e9 }] });
      l.bToA.setConfig({ blackouts: [{ fromMs: 1000, toMs: 1e9 }] });
    }
    net.runUntil(6000);
    const closed = dialerEvents.find((e) => e.type === 'closed');
    expect(closed).toMatchObject({ byPeer: false });
    expect((closed as { reason: string }).reason).toMatch(/idle/);
    expect(serverEvents.find((e) => e.type === 'closed')).toBeDefined();
    expect(dialer.isClosed).toBe(true);
    expect(dialer.openStream()).toBeNull();
  });

  it('close() tells the peer, which sees a closed event by peer', () => {
    const { dialer, listenerNode, net } = tunnelPair({ paths: [symmetric({ delayMs: 30 })], seed: 43 });
    const serverEvents: SessionEvent[] = [];
    net.onStep(() => collect(listenerNode.sessions[0] ?? listenerNode.closed[0], serverEvents));
    net.runUntil(500);
    dialer.close(net.now, 'shutting down');
    net.kick();
    net.runUntil(1000);
    expect(serverEvents.find((e) => e.type === 'closed')).toMatchObject({ byPeer: true, reason: 'shutting down' });
    expect(listenerNode.sessions).toHaveLength(0);
    expect(listenerNode.closed[0].isClosed).toBe(true);
  });
});

describe('hostile or unlucky orderings', () => {
  it('a key holder naming a stream id far beyond those opened closes the session instead of building streams', () => {
    const { dialer, listenerNode, net } = tunnelPair({ paths: [symmetric({ delayMs: 20 })], seed: 72 });
    net.runUntil(500);
    const server = listenerNode.sessions[0];
    const events: SessionEvent[] = [];
    // An authentic packet, sealed with the dialer's key, whose STREAM frame names stream 2,000,000.
    const w = new ByteWriter(new Uint8Array(64));
    encodeStreamHeader(w, 2_000_000, 0, 10, false);
    w.pos += 10;
    const sealer = (dialer as unknown as { sealer: SendKeys }).sealer;
    expect(server.handleDatagram(net.now, 0, sealer.seal(0, 1_000_000, w.buf.subarray(0, w.pos)))).toBe('accepted');
    collect(server, events);
    net.kick();
    net.runUntil(1000);
    expect(server.stats().activeStreams).toBe(0);
    expect(server.isClosed).toBe(true);
    expect(dialer.isClosed).toBe(true);
  });
});

describe('a writer ahead of the paths', () => {
  it('is held to 1 MiB never sent, and may write again as soon as it is sent, a round trip before its ACK', () => {
    const { dialer, net } = tunnelPair({ paths: [transPacific({})], seed: 41 });
    net.runUntil(2000, () => dialer.isConnected);
    expect(dialer.isConnected).toBe(true);
    // Let the handshake's round trip settle, so the path's window is open.
    net.runUntil(net.now + 400);
    const id = dialer.openStream()!;
    const block = new Uint8Array(4 << 20);
    const taken = dialer.streamWrite(id, block);
    expect(taken).toBe(1 << 20);
    expect(dialer.streamWrite(id, block)).toBe(0);
    const writtenAt = net.now;
    let writableAt = -1;
    net.runUntil(writtenAt + 180, () => {
      for (let e = dialer.pollEvent(); e !== null; e = dialer.pollEvent()) if (e.type === 'streamWritable' && writableAt < 0) writableAt = net.now;
      return writableAt >= 0;
    });
    // Sent at the path's 100 Mbit/s, a quarter of the backlog is gone in ~20 ms; the first ACK of
    // it is a round trip (180 ms) away.
    expect(writableAt).toBeGreaterThanOrEqual(0);
    expect(writableAt - writtenAt).toBeLessThan(90);
    expect(dialer.streamWrite(id, block)).toBeGreaterThanOrEqual(256 * 1024);
  });
});
