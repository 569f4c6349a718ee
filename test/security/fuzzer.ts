/**
 * A seeded, reproducible fuzzer for what a relay's UDP port receives. Shared by the short run in
 * `fuzz.test.ts` and the long one in `bench/fuzz.ts`.
 *
 * {@link fuzzDatagrams}: strangers' datagrams. A dialer session and a {@link Listener} run a live
 * transfer over the simulator while the fuzzer captures what crosses the links. Then it feeds
 * both ends datagrams built from that capture and from nothing: random bytes, bit flips,
 * truncations, Data headers with garbage bodies, oversized datagrams, exact replays (also on the
 * other path), packets of a pair keyed with another PSK, and mutated handshakes. First during
 * the transfer, which must stay byte-exact, then at a quiet instant where the ends owe nothing,
 * so any output or timer change would be the fuzzer's doing. Every datagram must come back as
 * a silent drop.
 *
 * {@link fuzzFrames}: a peer holding the keys that sends garbage. The fuzzer seals mutated frame
 * sequences under a session's real keys; the session may close itself as a protocol violation,
 * but no exception may escape it.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { loadFec } from '../../src/fec/index.ts';
import { resolveSessionConfig, type SessionConfig } from '../../src/session/config.ts';
import { Listener } from '../../src/session/listener.ts';
import { SeededRng } from '../../src/base/rng.ts';
import { Session } from '../../src/session/session.ts';
import { symmetric } from '../../src/sim/network.ts';
import { ByteWriter } from '../../src/wire/bytes.ts';
import { encodeControl } from '../../src/wire/control.ts';
import {
  decodeFrames,
  encodeAck,
  encodeClose,
  encodeControlFrame,
  encodeFecSource,
  encodeLossReport,
  encodeMaxData,
  encodeMaxStreamData,
  encodePathChallenge,
  encodePathResponse,
  encodePing,
  encodeRepair,
  encodeResetStream,
  encodeStopSending,
  encodeStreamHeader,
  type FrameVisitor,
} from '../../src/wire/frames.ts';
import { HandshakeInitiator } from '../../src/wire/handshake.ts';
import { DATA_HEADER_LEN, PacketSealer, PacketType, packetType } from '../../src/wire/packet.ts';
import { simPair, Transfers, WALL_EPOCH, type Captured } from './simPair.ts';

const PSK = new Uint8Array(32).fill(0x5a);
const OTHER_PSK = new Uint8Array(32).fill(0xa5);
/** Largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65_507;
/** Captured datagrams kept as mutation seeds (a uniform reservoir sample of everything seen). */
const CORPUS_SIZE = 2048;
const LINK = { delayMs: 20, rateMbps: 10, queueMs: 40, lossRate: 0.01 };

/** Forces a full collection, so heap figures compare live objects rather than garbage. */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Heap in use after a full collection, bytes. */
export function liveHeap(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Keeps a uniform sample of everything offered (reservoir sampling, Algorithm R). */
class Reservoir {
  readonly items: Captured[] = [];
  private seen = 0;
  constructor(private readonly rng: SeededRng) {}

  offer(c: Captured): void {
    this.seen++;
    if (this.items.length < CORPUS_SIZE) {
      this.items.push(c);
      return;
    }
    const j = Math.floor(this.rng.next() * this.seen);
    if (j < CORPUS_SIZE) this.items[j] = c;
  }
}

/** Two paths, mildly lossy: the transfer is only a vehicle, so it need not be fast. */
const PATHS = [symmetric(LINK), symmetric(LINK)];

function transfersOf(pair: ReturnType<typeof simPair>): Transfers {
  return new Transfers(() => pair.dialer, () => pair.listenerSide.peerOf(pair.dialer), {
    // Sizes vary so frames split at every offset pattern.
    upBytes: (n) => 300_000 + ((n * 7919) % 4099),
    downBytes: (id) => (id * 7717) % 30_000,
    concurrent: 2,
  });
}

/** What one fuzz run did; a clean run has `escaped`, `answered` and `corrupt` empty or zero. */
export interface DatagramFuzzReport {
  seed: number;
  datagrams: number;
  /** Of those, fed during the live transfer (the rest at a quiet instant). */
  duringTransfer: number;
  byKind: Record<string, number>;
  /** Exact replays of captured packets among them (all must have been refused). */
  replays: number;
  /** Exceptions thrown by the listener or a session, with the generator that caused them. */
  escaped: string[];
  /** Datagrams the listener did not drop or a session accepted: anything at all is a failure. */
  answered: number;
  /** At the quiet instant: datagrams after which an end wanted to send or changed its timer. */
  stirred: number;
  /** Transfer problems (corruption, resets, closes), null when clean. */
  corrupt: string | null;
  streamsCompleted: number;
  bytesVerified: number;
  listenerStats: Listener['stats'];
  /** Live heap after a full GC before and after the quiet-instant fuzzing, bytes. */
  heapBefore: number;
  heapAfter: number;
  ms: number;
}

type Target = 'listener' | 'dialer';
interface Input {
  kind: string;
  target: Target;
  pathId: number;
  bytes: Uint8Array;
}

/** Builds fuzz inputs from the capture, the foreign capture and the seeded rng. */
class Generator {
  constructor(
    private readonly rng: SeededRng,
    private readonly corpus: Captured[],
    private readonly foreign: Captured[],
    private readonly liveSessionIds: number[],
  ) {}

  next(): Input {
    const rng = this.rng;
    const target: Target = rng.next() < 0.5 ? 'listener' : 'dialer';
    const pathId = rng.nextU32() % 2;
    const roll = rng.next();
    if (roll < 0.1) return { kind: 'random', target, pathId, bytes: this.random(rng.nextU32() % 1400) };
    if (roll < 0.2) return { kind: 'typed-random', target, pathId, bytes: this.typedRandom() };
    if (roll < 0.4) return { kind: 'bit-flip', target, pathId, bytes: this.bitFlip(this.pick(this.corpus).bytes) };
    if (roll < 0.5) return { kind: 'truncate-extend', target, pathId, bytes: this.resize(this.pick(this.corpus).bytes) };
    if (roll < 0.65) return { kind: 'header-garbage', target, pathId, bytes: this.headerGarbage() };
    if (roll < 0.7) return { kind: 'oversized', target, pathId, bytes: this.oversized() };
    if (roll < 0.85) {
      // The same datagram again, to the end that received it, on its path or the other one.
      const c = this.pick(this.corpus);
      return { kind: 'replay', target: c.toListener ? 'listener' : 'dialer', pathId: rng.next() < 0.5 ? c.pathId : 1 - c.pathId, bytes: c.bytes };
    }
    if (roll < 0.95) return { kind: 'other-key', target, pathId, bytes: this.pick(this.foreign).bytes };
    return { kind: 'handshake', target, pathId, bytes: this.handshake() };
  }

  private pick(list: Captured[]): Captured {
    return list[this.rng.nextU32() % list.length];
  }

  private random(n: number): Uint8Array {
    const b = new Uint8Array(n);
    this.rng.fill(b);
    return b;
  }

  /** Random bodies behind each type byte, at the exact or plausible lengths of that type. */
  private typedRandom(): Uint8Array {
    const lengths = [75, 57, 28, 29, 60, 1200, 1350, 1398];
    const b = this.random(lengths[this.rng.nextU32() % lengths.length]);
    b[0] = 1 + (this.rng.nextU32() % 3);
    return b;
  }

  private bitFlip(src: Uint8Array): Uint8Array {
    const b = Uint8Array.from(src);
    const flips = 1 + (this.rng.nextU32() % 8);
    for (let i = 0; i < flips; i++) {
      const bit = this.rng.nextU32() % (b.length * 8);
      b[bit >>> 3] ^= 1 << (bit & 7);
    }
    return b;
  }

  private resize(src: Uint8Array): Uint8Array {
    if (this.rng.next() < 0.6) return src.slice(0, this.rng.nextU32() % src.length);
    const b = new Uint8Array(src.length + 1 + (this.rng.nextU32() % 200));
    b.set(src);
    this.rng.fill(b.subarray(src.length));
    return b;
  }

  /** A Data header naming a live session (an off-path attacker learns the id), random body. */
  private headerGarbage(): Uint8Array {
    const rng = this.rng;
    const b = this.random(DATA_HEADER_LEN + 16 + (rng.nextU32() % 1300));
    b[0] = PacketType.Data;
    b[1] = rng.next() < 0.8 ? rng.nextU32() % 2 : rng.nextU32() & 0xff;
    const sid = this.liveSessionIds[rng.nextU32() % this.liveSessionIds.length];
    b[2] = sid >>> 24;
    b[3] = sid >>> 16;
    b[4] = sid >>> 8;
    b[5] = sid;
    // Packet numbers around the edges, where a window that trusted them would jump or wrap.
    const edge = rng.nextU32() % 4;
    if (edge === 0) b.fill(0xff, 6, 12);
    else if (edge === 1) b.fill(0, 6, 12);
    return b;
  }

  private oversized(): Uint8Array {
    const c = this.pick(this.corpus).bytes;
    const b = this.random(1400 + (this.rng.nextU32() % (MAX_DATAGRAM - 1400 + 1)));
    b.set(c.subarray(0, Math.min(c.length, DATA_HEADER_LEN)));
    return b;
  }

  /** Handshake-shaped: a captured init or response flipped, or an init under another key. */
  private handshake(): Uint8Array {
    const shaped = this.corpus.filter((c) => packetType(c.bytes) !== PacketType.Data);
    const r = this.rng.next();
    if (r < 0.4 && shaped.length > 0) return this.bitFlip(this.pick(shaped).bytes);
    if (r < 0.7) {
      const other = this.foreign.filter((c) => c.bytes[0] === PacketType.HandshakeInit);
      if (other.length > 0) return this.pick(other).bytes;
    }
    return new HandshakeInitiator(OTHER_PSK, this.rng.nextU32(), this.rng, WALL_EPOCH).packet;
  }
}

/**
 * Runs `count` fuzz datagrams (a fifth during a live transfer, the rest at a quiet instant) and
 * reports. Deterministic in `seed`. Cost: ~3-10 µs per datagram plus the simulated transfer.
 */
export function fuzzDatagrams(opts: { seed: number; count: number; onProgress?: (done: number) => void }): DatagramFuzzReport {
  const started = performance.now();
  const { seed, count } = opts;
  const rng = new SeededRng(seed);
  const corpus = new Reservoir(new SeededRng(seed ^ 0xc0));
  const foreignCorpus = new Reservoir(new SeededRng(seed ^ 0xf0));

  // Packets of a pair keyed with another PSK: perfectly well-formed, just not ours.
  const foreign = simPair({ psk: OTHER_PSK, seed: seed ^ 0xabc, paths: PATHS, record: (c) => foreignCorpus.offer(c) });
  const foreignTransfers = transfersOf(foreign);
  foreign.net.onStep(() => foreignTransfers.pump());
  foreign.net.runUntil(1500);

  const pair = simPair({ psk: PSK, seed, paths: PATHS, record: (c) => corpus.offer(c) });
  const { dialer, listener, net } = pair;
  const transfers = transfersOf(pair);
  net.onStep(() => transfers.pump());
  // Capture a corpus from a running transfer before fuzzing it.
  net.runUntil(1000);
  const server = pair.listenerSide.peerOf(pair.dialer);
  if (server === undefined || !dialer.isConnected) throw new Error(`seed ${seed}: the live pair did not connect`);

  const report: DatagramFuzzReport = {
    seed,
    datagrams: 0,
    duringTransfer: 0,
    byKind: {},
    replays: 0,
    escaped: [],
    answered: 0,
    stirred: 0,
    corrupt: null,
    streamsCompleted: 0,
    bytesVerified: 0,
    listenerStats: listener.stats,
    heapBefore: 0,
    heapAfter: 0,
    ms: 0,
  };
  const gen = new Generator(rng, corpus.items, foreignCorpus.items, [dialer.id, server.id]);
  const feed = (now: number): void => {
    const input = gen.next();
    report.datagrams++;
    report.byKind[input.kind] = (report.byKind[input.kind] ?? 0) + 1;
    if (input.kind === 'replay') report.replays++;
    // A buffer of its own per datagram, as from a socket: a receiver opens it in place, and the
    // corpus is replayed again later.
    const bytes = Uint8Array.from(input.bytes);
    try {
      if (input.target === 'listener') {
        if (listener.handleDatagram(now, WALL_EPOCH + now, bytes).kind !== 'drop') report.answered++;
      } else if (dialer.handleDatagram(now, input.pathId, bytes) === 'accepted') {
        report.answered++;
      }
    } catch (err) {
      if (report.escaped.length < 20) report.escaped.push(`${input.kind} -> ${input.target}: ${(err as Error).stack ?? String(err)}`);
    }
    if (report.datagrams % 100_000 === 0) opts.onProgress?.(report.datagrams);
  };

  // During the transfer: a handful of datagrams at every simulated instant.
  const live = Math.floor(count / 5);
  net.onStep((now) => {
    for (let i = 0; i < 4 && report.duringTransfer < live; i++, report.duringTransfer++) feed(now);
  });
  while (report.duringTransfer < live && transfers.problem === null) {
    net.runUntil(net.now + 1000);
    if (net.now > 600_000) throw new Error(`seed ${seed}: the live phase did not finish`);
  }
  // Let every stream finish, then find an instant where neither end owes anything.
  transfers.more = false;
  net.runUntil(net.now + 30_000, () => transfers.active === 0);
  net.runUntil(net.now + 50);
  const now = net.now;
  const ends = [dialer, server];
  const quiet = ends.every((s) => s.pollTransmit(now) === null);
  const timers = ends.map((s) => s.nextTimeout());
  if (!quiet) throw new Error(`seed ${seed}: no quiet instant after the transfer`);

  report.heapBefore = liveHeap();
  while (report.datagrams < count) {
    feed(now);
    if (ends.some((s, i) => s.pollTransmit(now) !== null || s.nextTimeout() !== timers[i])) report.stirred++;
  }
  report.heapAfter = liveHeap();

  // The session must still carry data, byte-exact, after all that.
  transfers.more = true;
  const before = transfers.completed;
  net.runUntil(net.now + 60_000, () => transfers.completed >= before + 2 || transfers.problem !== null);
  transfers.more = false;
  net.runUntil(net.now + 30_000, () => transfers.active === 0 || transfers.problem !== null);
  if (transfers.completed < before + 2) transfers.problem ??= 'no stream completed after the fuzzing';
  report.corrupt = transfers.problem;
  report.streamsCompleted = transfers.completed;
  report.bytesVerified = transfers.bytesVerified;
  report.listenerStats = { ...listener.stats };
  report.ms = performance.now() - started;
  return report;
}

/** What {@link fuzzFrames} did. */
export interface FrameFuzzReport {
  seed: number;
  packets: number;
  /** Mutations that named a stream id of {@link FRAME_FUZZ_MAX_STREAM_ID} or more, not sent. */
  skippedFarStreams: number;
  /** Sessions that closed themselves on the garbage (a protocol violation), and were replaced. */
  sessionsClosed: number;
  escaped: string[];
  ms: number;
}

/**
 * Stream ids the frame fuzzer uses stay below this. A STREAM or RESET_STREAM frame naming a far
 * higher id makes the core create every stream below it (Session.streamForFrame), a known open
 * issue of the core: with ids at random the run would measure that loop and nothing else.
 */
export const FRAME_FUZZ_MAX_STREAM_ID = 4096;

/** Sealed packets of mutated frame sequences into sessions whose keys the fuzzer holds. */
export function fuzzFrames(opts: { seed: number; count: number }): FrameFuzzReport {
  const started = performance.now();
  const rng = new SeededRng(opts.seed);
  const fec = loadFec();
  const config: SessionConfig = resolveSessionConfig({ maxStreams: 64 });
  const report: FrameFuzzReport = { seed: opts.seed, packets: 0, skippedFarStreams: 0, sessionsClosed: 0, escaped: [], ms: 0 };
  const keys = { sendKey: new Uint8Array(32).fill(1), recvKey: new Uint8Array(32).fill(2), localSessionId: 0x0b0b0b0b, remoteSessionId: 0x0c0c0c0c };
  const sealer = new PacketSealer(keys.recvKey, keys.localSessionId);
  let now = 0;
  let session = Session.accept({ now, keys, rng: new SeededRng(opts.seed ^ 7), config, fec });
  let pns = [0, 0, 0];
  const scratch = new Uint8Array(1400);
  const frames = new FrameGenerator(rng);

  while (report.packets < opts.count) {
    now += rng.next() * 5;
    const w = new ByteWriter(scratch.subarray(0, 100 + (rng.nextU32() % 1250)));
    const nFrames = 1 + (rng.nextU32() % 4);
    for (let i = 0; i < nFrames; i++) frames.write(w, pns);
    let plain: Uint8Array = scratch.slice(0, w.pos);
    if (rng.next() < 0.3) plain = mutate(rng, plain);
    if (namesFarStream(plain)) {
      report.skippedFarStreams++;
      continue;
    }
    report.packets++;
    const pathId = rng.nextU32() % 3;
    try {
      session.handleDatagram(now, pathId, sealer.seal(pathId, pns[pathId]++, plain));
      const due = session.nextTimeout();
      if (due !== null && due <= now) session.handleTimeout(now);
      for (let t = session.pollTransmit(now); t !== null; t = session.pollTransmit(now));
      for (let e = session.pollEvent(); e !== null; e = session.pollEvent()) {
        if (e.type === 'streamReadable') while (session.streamRead(e.streamId) !== null);
        if (e.type === 'streamOpened' && rng.next() < 0.3) session.streamWrite(e.streamId, new Uint8Array(rng.nextU32() % 3000));
      }
    } catch (err) {
      if (report.escaped.length < 20) report.escaped.push(`packet ${report.packets}: ${(err as Error).stack ?? String(err)}`);
    }
    if (session.isClosed || rng.next() < 0.001) {
      if (session.isClosed) report.sessionsClosed++;
      session = Session.accept({ now, keys, rng: new SeededRng(rng.nextU32()), config, fec });
      pns = [0, 0, 0];
    }
  }
  report.ms = performance.now() - started;
  return report;
}

const NO_OP = (): void => {};

/** Whether a payload, decoded as the session would, names a stream id the fuzzer must avoid. */
function namesFarStream(payload: Uint8Array): boolean {
  let far = false;
  const check = (id: number): void => {
    if (id >= FRAME_FUZZ_MAX_STREAM_ID) far = true;
  };
  const visitor: FrameVisitor = {
    onPing: NO_OP,
    onAck: NO_OP,
    onStream: check,
    onResetStream: check,
    onStopSending: check,
    onMaxData: NO_OP,
    onMaxStreamData: check,
    onPathChallenge: NO_OP,
    onPathResponse: NO_OP,
    onControl: (msg) => {
      if (msg.streamOpen !== undefined) check(Number(msg.streamOpen.streamId));
    },
    onRepair: NO_OP,
    onClose: NO_OP,
    onFecSource: NO_OP,
    onLossReport: NO_OP,
  };
  try {
    decodeFrames(payload, visitor);
  } catch {
    // The session stops at the same malformed frame; what came before it is what counts.
  }
  return far;
}

/** Flips, overwrites or cuts off a few bytes of a plaintext. */
function mutate(rng: SeededRng, src: Uint8Array): Uint8Array {
  const b = Uint8Array.from(src);
  if (b.length === 0) return b;
  const edits = 1 + (rng.nextU32() % 4);
  for (let i = 0; i < edits; i++) {
    const at = rng.nextU32() % b.length;
    const op = rng.nextU32() % 3;
    if (op === 0) b[at] ^= 1 << (rng.nextU32() % 8);
    else if (op === 1) b[at] = rng.nextU32() & 0xff;
    else return b.slice(0, at);
  }
  return b;
}

/** Writes one well-formed frame with hostile field values: edges, huge lengths, unknown ids. */
class FrameGenerator {
  constructor(private readonly rng: SeededRng) {}

  private edge(max: number): number {
    const r = this.rng.next();
    if (r < 0.3) return this.rng.nextU32() % 64;
    if (r < 0.5) return max;
    if (r < 0.6) return 0;
    if (r < 0.8) return this.rng.nextU32() % 100_000;
    return Math.floor(this.rng.next() * max);
  }

  private streamId(): number {
    return this.rng.nextU32() % FRAME_FUZZ_MAX_STREAM_ID;
  }

  write(w: ByteWriter, pns: number[]): void {
    const rng = this.rng;
    const room = w.remaining;
    if (room < 40) return;
    const BIG = Number.MAX_SAFE_INTEGER;
    switch (rng.nextU32() % 14) {
      case 0:
        encodePing(w);
        break;
      case 1: {
        // ACKs of sent and unsent packets, sometimes many ranges.
        const pathId = rng.nextU32() % 4;
        const largest = rng.next() < 0.5 ? rng.nextU32() % 64 : this.edge(2 ** 48 - 1);
        const ranges: Array<[number, number]> = [];
        let hi = largest;
        const n = 1 + (rng.nextU32() % 6);
        for (let i = 0; i < n && hi >= 0; i++) {
          const lo = Math.max(0, hi - (rng.nextU32() % 8));
          ranges.push([lo, hi]);
          hi = lo - 2 - (rng.nextU32() % 4);
        }
        encodeAck(w, pathId, this.edge(2 ** 40), ranges);
        break;
      }
      case 2: {
        const id = this.streamId();
        const offset = rng.next() < 0.7 ? rng.nextU32() % 200_000 : this.edge(BIG - 2000);
        const len = Math.min(rng.nextU32() % 600, w.remaining - 30);
        if (len < 0) return;
        encodeStreamHeader(w, id, offset, len, rng.next() < 0.2);
        w.bytes(new Uint8Array(len));
        break;
      }
      case 3:
        encodeResetStream(w, this.streamId(), this.edge(2 ** 32), this.edge(BIG));
        break;
      case 4:
        encodeStopSending(w, this.streamId(), this.edge(2 ** 32));
        break;
      case 5:
        encodeMaxData(w, this.edge(BIG));
        break;
      case 6:
        encodeMaxStreamData(w, this.streamId(), this.edge(BIG));
        break;
      case 7:
      case 8: {
        const data = new Uint8Array(8);
        rng.fill(data);
        if (rng.next() < 0.5) encodePathChallenge(w, data);
        else encodePathResponse(w, data);
        break;
      }
      case 9:
        encodeControlFrame(w, encodeControl({ streamOpen: { streamId: this.streamId(), service: rng.next() < 0.5 ? '' : 'svc\u00e9' } }));
        break;
      case 10: {
        const k = 1 + (rng.nextU32() % 200);
        const m = 1 + (rng.nextU32() % Math.min(55, 256 - k));
        const len = Math.min(rng.nextU32() % 1300, w.remaining - 20);
        if (len < 0) return;
        encodeRepair(w, this.edge(2 ** 32), rng.nextU32() % m, k, m, new Uint8Array(len));
        break;
      }
      case 11:
        encodeFecSource(w, this.edge(2 ** 32), rng.nextU32() % 255);
        break;
      case 12:
        encodeLossReport(w, rng.nextU32() % 4, this.edge(2 ** 40), this.edge(2 ** 40), this.edge(2 ** 40), this.edge(2 ** 40));
        break;
      default:
        // Rare: a CLOSE ends the session, which then gets replaced. Otherwise no frame, but a
        // jump in one path's packet numbers, as after a long loss burst.
        if (rng.next() < 0.05) encodeClose(w, this.edge(2 ** 32), 'fuzz');
        else pns[rng.nextU32() % pns.length] += rng.nextU32() % 5000;
        break;
    }
  }
}

/** What {@link floodHandshakes} did. */
export interface HandshakeFloodReport {
  seed: number;
  /** Handshake-shaped datagrams fed after the one genuine handshake. */
  inits: number;
  byKind: { forged: number; replayed: number; otherKey: number; stale: number };
  /** Of them answered (must be none), and sessions besides the genuine one (must be none). */
  answered: number;
  extraSessions: number;
  listenerStats: Listener['stats'];
  /** Mean cost of one refusal, µs. */
  usPerInit: number;
}

/**
 * A handshake flood against a {@link Listener}, sans-IO: one genuine init, then `count` inits
 * forged (right type and length, random bytes), replayed (that genuine init again), under another
 * key, or genuine but stale (an old capture). Times the refusals.
 */
export function floodHandshakes(opts: { seed: number; count: number }): HandshakeFloodReport {
  const rng = new SeededRng(opts.seed);
  const listener = new Listener({ psk: PSK, rng: new SeededRng(opts.seed ^ 0x77) });
  // All at one instant: the flood is timed by the CPU, not by the clock.
  const feed = (bytes: Uint8Array): string => listener.handleDatagram(0, WALL_EPOCH, bytes).kind;
  const genuine = new HandshakeInitiator(PSK, 1, rng, WALL_EPOCH).packet;
  if (feed(genuine) !== 'accepted') throw new Error('the genuine handshake was not accepted');
  // A pool of ready-made inits, so the timing is of the listener rather than of making them.
  const otherKey = Array.from({ length: 256 }, (_, i) => new HandshakeInitiator(OTHER_PSK, i, rng, WALL_EPOCH).packet);
  const stale = Array.from({ length: 256 }, (_, i) => new HandshakeInitiator(PSK, 1000 + i, rng, WALL_EPOCH - 3_600_000).packet);
  const forged = Array.from({ length: 256 }, () => {
    const b = new Uint8Array(genuine.length);
    rng.fill(b);
    b[0] = PacketType.HandshakeInit;
    return b;
  });
  const report: HandshakeFloodReport = {
    seed: opts.seed,
    inits: 0,
    byKind: { forged: 0, replayed: 0, otherKey: 0, stale: 0 },
    answered: 0,
    extraSessions: 0,
    listenerStats: listener.stats,
    usPerInit: 0,
  };
  const started = performance.now();
  for (let i = 0; i < opts.count; i++) {
    const kind = (['forged', 'replayed', 'otherKey', 'stale'] as const)[i % 4];
    const pick = i >>> 2;
    const bytes = kind === 'forged' ? forged[pick & 255] : kind === 'replayed' ? genuine : kind === 'otherKey' ? otherKey[pick & 255] : stale[pick & 255];
    report.byKind[kind]++;
    report.inits++;
    if (feed(bytes) !== 'drop') report.answered++;
  }
  report.usPerInit = ((performance.now() - started) * 1000) / Math.max(1, opts.count);
  report.extraSessions = listener.sessionCount - 1;
  report.listenerStats = { ...listener.stats };
  return report;
}
