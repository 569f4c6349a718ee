/**
 * A peer holding the key, driving each limit on the state it controls: stream-id leaps, tiny
 * out-of-order fragments (descending and ascending), and RESET_STREAM final sizes that disagree
 * with what arrived or what flow control allowed. Its packets are sealed with its own session's
 * keys, as a modified client would send them, while an honest session on the same listener
 * carries a transfer. Shared by the short suite (maliciousPeer.test.ts) and the long run
 * (bench/security.ts), which scales each attack and the honest transfer up.
 */
import { Listener } from '../../src/session/listener.ts';
import { SeededRng } from '../../src/base/rng.ts';
import { Session } from '../../src/session/session.ts';
import { SimNetwork, symmetric, type SimNode } from '../../src/sim/network.ts';
import { ByteWriter } from '../../src/wire/bytes.ts';
import { encodePing, encodeResetStream, encodeStreamHeader } from '../../src/wire/frames.ts';
import { DATA_OVERHEAD, type PacketSealer } from '../../src/wire/packet.ts';
import { ListenerSide, Transfers, WALL_EPOCH } from './simPair.ts';

const PSK = new Uint8Array(32).fill(0x21);
const PAYLOAD = 1350 - DATA_OVERHEAD;
const UP_BYTES = 1000;

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

/** One attack: packet bodies the attacker seals, each written by one function. */
export type Attack = () => Iterable<(w: ByteWriter) => void>;

export interface AttackOptions {
  seed: number;
  /** Bytes the listener sends the honest dialer while the attack runs. */
  honestBytes: number;
}

/** A datagram costing more CPU than this is slow: ~100x what one costs the listener normally. */
export const SLOW_CALL_MS = 50;
/** Slow datagrams an attack may cause at all: the collections its bounded state costs. */
export const MAX_SLOW_CALLS = 4;
/** No datagram, collection or not, may hold the listener longer than this. */
export const LONGEST_CALL_BOUND_MS = 250;

export interface Outcome {
  /** Why the listener closed the attacker's session (null: it did not). */
  reason: string | null;
  /** Slowest single datagram the listener handled, ms of CPU time. */
  longestCallMs: number;
  /**
   * Datagrams that cost the listener more than SLOW_CALL_MS of CPU. A cost that grew with the
   * attacker's state would put most datagrams here; a garbage collection of the state the limits
   * allow lands on the odd one (and process CPU counts V8's helper threads).
   */
  slowCalls: number;
  packetsSent: number;
  /** Live streams the listener's session for the attacker held at most. */
  maxStreams: number;
  heapGrowthMb: number;
  /** Growth of the whole process's resident set over the attack, peak against start. */
  rssGrowthMb: number;
  honestProblem: string | null;
  honestVerified: number;
  honestExpected: number;
  /** Simulated time at which the honest transfer was verified complete. */
  honestFinishedAt: number;
}

/**
 * Connects both dialers, starts the honest transfer, then sends `attack`'s packets, sealed as the
 * attacker's session on path 1, a batch per millisecond, until its session closes or they run out.
 */
export function attackRun(attack: Attack, opts: AttackOptions): Outcome {
  const dial = (pathId: number, seed: number) =>
    Session.dial({ now: 0, wallNow: WALL_EPOCH, psk: PSK, pathIds: [pathId], rng: new SeededRng(seed) });
  const honest = dial(0, opts.seed);
  const attacker = dial(1, opts.seed + 1);
  const listenerSide = new ListenerSide(new Listener({ psk: PSK, rng: new SeededRng(opts.seed + 2) }));
  const link = symmetric({ delayMs: 20, rateMbps: 50, queueMs: 40 });
  const net = new SimNetwork({ a: new TwoDialers(honest, attacker), b: listenerSide, paths: [link, link], seed: opts.seed });
  const serverFor = (s: Session) => listenerSide.sessions.find((x) => x.stats().paths.some((p) => p.id === (s === honest ? 0 : 1)));
  const transfers = new Transfers(() => honest, () => serverFor(honest), {
    upBytes: () => UP_BYTES,
    downBytes: () => opts.honestBytes,
    concurrent: 1,
  });
  const honestDone = () => transfers.opened >= 1 && transfers.active === 0;
  let honestFinishedAt: number | null = null;
  net.onStep((now) => {
    transfers.pump();
    if (transfers.opened >= 1) transfers.more = false;
    if (honestFinishedAt === null && honestDone()) honestFinishedAt = now;
  });
  net.runUntil(300);
  const victim = serverFor(attacker);
  if (victim === undefined) throw new Error('the attacker session never connected');
  const sealer = (attacker as unknown as { sealer: PacketSealer }).sealer;
  // Packet numbers far above the attacker session's own, so none is a duplicate.
  let pn = 1_000_000;
  const out: Outcome = {
    reason: null,
    longestCallMs: 0,
    slowCalls: 0,
    packetsSent: 0,
    maxStreams: 0,
    heapGrowthMb: 0,
    rssGrowthMb: 0,
    honestProblem: null,
    honestVerified: 0,
    honestExpected: opts.honestBytes + UP_BYTES,
    honestFinishedAt: 0,
  };
  const plain = new Uint8Array(PAYLOAD);
  const frames = attack()[Symbol.iterator]();
  global.gc?.();
  const before = process.memoryUsage();
  let heapPeak = before.heapUsed;
  let rssPeak = before.rss;
  const sampleMemory = (): void => {
    const m = process.memoryUsage();
    heapPeak = Math.max(heapPeak, m.heapUsed);
    rssPeak = Math.max(rssPeak, m.rss);
  };
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
      const callMs = (used.user + used.system) / 1000;
      out.longestCallMs = Math.max(out.longestCallMs, callMs);
      if (callMs > SLOW_CALL_MS) out.slowCalls++;
      out.packetsSent++;
      out.maxStreams = Math.max(out.maxStreams, victim.stats().activeStreams);
    }
    if (out.packetsSent % 64 === 0) sampleMemory();
    for (let e = victim.pollEvent(); e !== null; e = victim.pollEvent()) if (e.type === 'closed') out.reason = e.reason;
    return done ? false : undefined;
  });
  // Up to ten times the honest transfer's time at the 50 Mbit/s link rate, and at least 20 s.
  net.runUntil(Math.max(20_000, (opts.honestBytes * 8) / 5_000), () => transfers.problem !== null || (honestDone() && done));
  for (let e = victim.pollEvent(); e !== null; e = victim.pollEvent()) if (e.type === 'closed') out.reason = e.reason;
  sampleMemory();
  out.heapGrowthMb = (heapPeak - before.heapUsed) / 2 ** 20;
  out.rssGrowthMb = (rssPeak - before.rss) / 2 ** 20;
  out.honestProblem = transfers.problem;
  out.honestVerified = transfers.bytesVerified;
  out.honestFinishedAt = honestFinishedAt ?? net.now;
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

/** The attacks, each sized by its count (the short suite's sizes are the defaults). */
export const ATTACKS = {
  /** STREAM frames each leaping 4096 stream ids. */
  leaps: (count = 4096): Attack =>
    function* () {
      for (let n = 0; n < count; n++) {
        // The attacker's session dialed, so its streams are even.
        yield (w) => {
          encodeStreamHeader(w, n * 2 * 4096, 0, 1, false);
          w.u8(1);
        };
      }
    },
  /** One-byte fragments on stream 0 with a gap after each, in descending order. */
  descending: (count = 100_000): Attack =>
    () =>
      streamFrames(
        (function* () {
          for (let i = count; i > 0; i--) yield [0, 2 * i] as [number, number];
        })(),
        1,
      ),
  /** One-byte fragments on stream 0 in order, never read. */
  ascending: (count = 300_000): Attack =>
    () =>
      streamFrames(
        (function* () {
          for (let i = 0; i < count; i++) yield [0, i] as [number, number];
        })(),
        1,
      ),
  /** One-byte fragments with a gap after each, round-robin over eight streams. */
  gapped: (count = 2_000_000): Attack =>
    () =>
      streamFrames(
        (function* () {
          for (let i = 0; i < count; i++) yield [2 * (i % 8), 2 * Math.floor(i / 8)] as [number, number];
        })(),
        1,
      ),
  /** 1000 bytes on stream 0, then a RESET_STREAM with final size 10. */
  resetBelow: (): Attack =>
    function* () {
      yield (w) => {
        encodeStreamHeader(w, 0, 0, 1000, false);
        w.bytes(new Uint8Array(1000));
      };
      yield (w) => encodeResetStream(w, 0, 1, 10);
    },
  /** A RESET_STREAM with a final size of 2^40. */
  resetBeyond: (): Attack =>
    function* () {
      yield (w) => encodeResetStream(w, 0, 1, 2 ** 40);
    },
};
