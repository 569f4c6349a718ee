/**
 * A peer holding the key, driving each limit on the state it controls: stream-id leaps, tiny
 * out-of-order fragments (descending and ascending), and RESET_STREAM final sizes that disagree
 * with what arrived or what flow control allowed. Its packets are sealed with its own session's
 * keys, as a modified client would send them. Each attack must end with its session closed for a
 * stated reason, no single datagram costing the listener more than 50 ms, memory bounded, and an
 * honest session on the same listener carrying its transfer intact throughout.
 */
import { describe, expect, it } from 'vitest';
import { Listener } from '../../src/session/listener.ts';
import { SeededRng } from '../../src/session/rng.ts';
import { Session } from '../../src/session/session.ts';
import { SimNetwork, symmetric, type SimNode } from '../../src/sim/network.ts';
import { ByteWriter } from '../../src/wire/bytes.ts';
import { encodePing, encodeResetStream, encodeStreamHeader } from '../../src/wire/frames.ts';
import { DATA_OVERHEAD, type PacketSealer } from '../../src/wire/packet.ts';
import { ListenerSide, Transfers, WALL_EPOCH } from './simPair.ts';

const PSK = new Uint8Array(32).fill(0x21);
const SEED = 4242;
const HONEST_BYTES = 2_000_000;
const PAYLOAD = 1350 - DATA_OVERHEAD;

/** An honest dialer on path 0 and the attacker's session on path 1, one simulator node. */
class TwoDialers implements SimNode {
  constructor(
    readonly honest: Session,
    readonly attacker: Session,
  ) {}
  handleDatagram(now: number, pathId: number, bytes: Uint8Array): void {
    (pathId === 0 ? this.honest : this.attacker).handleDatagram(now, pathId, bytes);
  }
  pollTransmit(now: number) {
    return this.honest.pollTransmit(now) ?? this.attacker.pollTransmit(now);
  }
  nextTimeout(): number | null {
    const a = this.honest.nextTimeout();
    const b = this.attacker.nextTimeout();
    return a === null ? b : b === null ? a : Math.min(a, b);
  }
  handleTimeout(now: number): void {
    if ((this.honest.nextTimeout() ?? Infinity) <= now) this.honest.handleTimeout(now);
    if ((this.attacker.nextTimeout() ?? Infinity) <= now) this.attacker.handleTimeout(now);
  }
}

interface Outcome {
  /** Why the listener closed the attacker's session (null: it did not). */
  reason: string | null;
  /** Slowest single datagram the listener handled, ms of CPU time. */
  longestCallMs: number;
  packetsSent: number;
  /** Live streams the listener's session for the attacker held at most. */
  maxStreams: number;
  heapGrowthMb: number;
  honestProblem: string | null;
  honestVerified: number;
}

/**
 * Connects both dialers, starts the honest transfer, then sends `attack`'s packets, sealed as the
 * attacker's session on path 1, a batch per millisecond, until its session closes or they run out.
 */
function run(attack: () => Iterable<(w: ByteWriter) => void>): Outcome {
  const dial = (pathId: number, seed: number) =>
    Session.dial({ now: 0, wallNow: WALL_EPOCH, psk: PSK, pathIds: [pathId], rng: new SeededRng(seed) });
  const honest = dial(0, SEED);
  const attacker = dial(1, SEED + 1);
  const listenerSide = new ListenerSide(new Listener({ psk: PSK, rng: new SeededRng(SEED + 2) }));
  const link = symmetric({ delayMs: 20, rateMbps: 50, queueMs: 40 });
  const net = new SimNetwork({ a: new TwoDialers(honest, attacker), b: listenerSide, paths: [link, link], seed: SEED });
  const serverFor = (s: Session) => listenerSide.sessions.find((x) => x.stats().paths.some((p) => p.id === (s === honest ? 0 : 1)));
  const transfers = new Transfers(() => honest, () => serverFor(honest), {
    upBytes: () => 1000,
    downBytes: () => HONEST_BYTES,
    concurrent: 1,
  });
  net.onStep(() => {
    transfers.pump();
    if (transfers.opened >= 1) transfers.more = false;
  });
  net.runUntil(300);
  const victim = serverFor(attacker)!;
  expect(victim).toBeDefined();
  const sealer = (attacker as unknown as { sealer: PacketSealer }).sealer;
  // Packet numbers far above the attacker session's own, so none is a duplicate.
  let pn = 1_000_000;
  const out: Outcome = { reason: null, longestCallMs: 0, packetsSent: 0, maxStreams: 0, heapGrowthMb: 0, honestProblem: null, honestVerified: 0 };
  const plain = new Uint8Array(PAYLOAD);
  const frames = attack()[Symbol.iterator]();
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  let done = false;
  net.every(1, (now) => {
    for (let i = 0; i < 20 && !done; i++) {
      const next = frames.next();
      if (next.done === true || !victim.isConnected) {
        done = true;
        break;
      }
      const w = new ByteWriter(plain);
      next.value(w);
      const datagram = sealer.seal(1, pn++, plain.subarray(0, w.pos));
      // CPU time, not wall time: on a shared machine the process may be descheduled mid-call.
      const t0 = process.cpuUsage();
      listenerSide.handleDatagram(now, 1, datagram);
      const used = process.cpuUsage(t0);
      out.longestCallMs = Math.max(out.longestCallMs, (used.user + used.system) / 1000);
      out.packetsSent++;
      out.maxStreams = Math.max(out.maxStreams, victim.stats().activeStreams);
    }
    if (out.packetsSent % 64 === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    for (let e = victim.pollEvent(); e !== null; e = victim.pollEvent()) if (e.type === 'closed') out.reason = e.reason;
    return done ? false : undefined;
  });
  net.runUntil(20_000, () => transfers.problem !== null || (transfers.opened >= 1 && transfers.active === 0 && done));
  for (let e = victim.pollEvent(); e !== null; e = victim.pollEvent()) if (e.type === 'closed') out.reason = e.reason;
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  out.heapGrowthMb = (heapPeak - heapBefore) / 2 ** 20;
  out.honestProblem = transfers.problem;
  out.honestVerified = transfers.bytesVerified;
  return out;
}

/** STREAM frames of `length` bytes at the given (stream, offset) pairs, as many per packet as fit. */
function* streamFrames(targets: Iterable<[number, number]>, length: number): Iterable<(w: ByteWriter) => void> {
  const data = new Uint8Array(length).fill(0x33);
  const it = targets[Symbol.iterator]();
  let pending = it.next();
  while (pending.done !== true) {
    yield (w) => {
      encodePing(w);
      while (pending.done !== true && w.remaining >= 24 + length) {
        const [id, offset] = pending.value;
        encodeStreamHeader(w, id, offset, length, false);
        w.bytes(data);
        pending = it.next();
      }
    };
  }
}

function expectContained(o: Outcome, reason: RegExp): void {
  expect(o.reason).toMatch(reason);
  expect(o.longestCallMs).toBeLessThan(50);
  expect(o.heapGrowthMb).toBeLessThan(150);
  expect(o.honestProblem).toBeNull();
  expect(o.honestVerified).toBe(HONEST_BYTES + 1000);
}

describe('a key-holding peer against the limits', () => {
  it('stream-id leaps of 4096 ids: no stream object for skipped ids, closed at the cumulative limit', () => {
    const o = run(function* () {
      for (let n = 0; n < 4096; n++) {
        // The attacker's session dialed, so its streams are even.
        yield (w) => {
          encodeStreamHeader(w, n * 2 * 4096, 0, 1, false);
          w.u8(1);
        };
      }
    });
    expectContained(o, /beyond the peer's stream limit/);
    // The limit is maxStreams + 1024 numbers: leaps of 4096 reach it within the first frame or two.
    expect(o.maxStreams).toBeLessThanOrEqual(2);
    expect(o.packetsSent).toBeLessThan(4);
  });

  it('100,000 one-byte fragments in descending order: closed at the range cap (one per KiB of window), each datagram cheap', () => {
    const o = run(() => streamFrames((function* () {
      for (let i = 100_000; i > 0; i--) yield [0, 2 * i] as [number, number];
    })(), 1));
    expectContained(o, /stream 0 holds too many pieces \(24577 in 24577 ranges\)/);
    expect(o.packetsSent).toBeLessThan(250);
  });

  it('one-byte fragments in order that nobody reads: merged into KiB pieces, so they cost what flow control allows', () => {
    const o = run(() => streamFrames((function* () {
      for (let i = 0; i < 300_000; i++) yield [0, i] as [number, number];
    })(), 1));
    // Nothing to close for: 300,000 fragments are ~300 pieces of 1 KiB.
    expect(o.reason).toBeNull();
    expect(o.packetsSent).toBeGreaterThan(1500);
    expect(o.longestCallMs).toBeLessThan(50);
    expect(o.heapGrowthMb).toBeLessThan(50);
    expect(o.honestProblem).toBeNull();
    expect(o.honestVerified).toBe(HONEST_BYTES + 1000);
  });

  it('one-byte fragments with a gap after each, over eight streams: closed at the session piece limit', () => {
    const o = run(() => streamFrames((function* () {
      for (let i = 0; i < 2_000_000; i++) yield [2 * (i % 8), 2 * Math.floor(i / 8)] as [number, number];
    })(), 1));
    expectContained(o, /received data held in too many small pieces \(131073 pieces/);
  });

  it('RESET_STREAM below the bytes received, or beyond the window: closed for a protocol or flow-control violation', () => {
    const below = run(function* () {
      yield (w) => {
        encodeStreamHeader(w, 0, 0, 1000, false);
        w.bytes(new Uint8Array(1000));
      };
      yield (w) => encodeResetStream(w, 0, 1, 10);
    });
    expectContained(below, /reset with final size 10, below/);
    const beyond = run(function* () {
      yield (w) => encodeResetStream(w, 0, 1, 2 ** 40);
    });
    expectContained(beyond, /beyond its flow-control window/);
  });
});
