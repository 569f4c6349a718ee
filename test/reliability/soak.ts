/**
 * The soak: a dialer and a listener on the simulator for a long stretch of virtual time, with
 * stream churn of mixed sizes both ways, lossy and bursty paths that go dark now and then, and a
 * trickle of replayed and forged datagrams. Shared by the short run in
 * `soak.test.ts` and the 30-minute one in `bench/soak.ts`.
 *
 * State is measured by a census of every container reachable from the sessions and the listener
 * (maps, sets, arrays and byte buffers, keyed by property path), so it covers the streams map,
 * FEC groups, sent history, received ranges and replay memory without naming them. The census
 * and the heap are taken at quiet points (new streams paused until all running ones ended) at the
 * end of each segment: a leak shows as a quiet point that holds more than the one before.
 */
import type { Listener } from '../../src/session/listener.ts';
import { SeededRng } from '../../src/base/rng.ts';
import type { Session } from '../../src/session/session.ts';
import type { PathSpec } from '../../src/sim/network.ts';
import { HandshakeInitiator } from '../../src/wire/handshake.ts';
import { DATA_HEADER_LEN, PacketType } from '../../src/wire/packet.ts';
import { liveHeap } from '../security/fuzzer.ts';
import { simPair, Transfers, WALL_EPOCH, type Captured } from '../security/simPair.ts';

const PSK = new Uint8Array(32).fill(0x33);

/** Container sizes by property path: entries for maps, sets and arrays, bytes for buffers. */
export type Census = Record<string, number>;

/**
 * Walks the object graph from `root` and sums container sizes per property path (array indices
 * and map keys folded into `[]`), visiting each object once. Typed arrays count their bytes under
 * `path#bytes`. WebAssembly memories and crypto keys are fixed-size and skipped.
 */
export function census(root: object, prefix: string, into: Census = {}, seen = new Set<object>()): Census {
  const add = (key: string, n: number): void => {
    into[key] = (into[key] ?? 0) + n;
  };
  const walk = (value: unknown, path: string, depth: number): void => {
    if (value === null || typeof value !== 'object' || seen.has(value) || depth > 10) return;
    seen.add(value);
    if (ArrayBuffer.isView(value)) {
      add(`${path}#bytes`, value.byteLength);
      return;
    }
    if (value instanceof WebAssembly.Memory || value instanceof WebAssembly.Instance || value.constructor?.name === 'KeyObject') return;
    if (value instanceof Map) {
      add(path, value.size);
      for (const v of value.values()) walk(v, `${path}[]`, depth + 1);
      return;
    }
    if (value instanceof Set || Array.isArray(value)) {
      add(path, Array.isArray(value) ? value.length : value.size);
      for (const v of value) walk(v, `${path}[]`, depth + 1);
      return;
    }
    for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, depth + 1);
  };
  walk(root, prefix, 0);
  return into;
}

export interface SoakOptions {
  seed: number;
  /** Virtual time to run, ms (the last segment may end a little later). */
  durationMs: number;
  /** Quiet points: one after every `segmentMs` of virtual time under load (draining comes on top). */
  segmentMs: number;
  /**
   * Also reset every 13th stream halfway through its upload, as a viewer who hangs up. Off by
   * default: today a stream reset while it still has unsent data is queued again by the peer's
   * next MAX_DATA or MAX_STREAM_DATA (Session.onMaxData/onMaxStreamData do not skip reset
   * streams), and the session then throws in SendBuffer.copyOut. An open core issue.
   */
  resets?: boolean;
  /** Scales both paths' rates (16 and 8 Mbit/s at 1) and the stream sizes; a short run goes faster at less. */
  rateScale?: number;
  onSegment?: (q: QuietPoint) => void;
}

/** What one quiet point found. */
export interface QuietPoint {
  atMs: number;
  census: Census;
  heapBytes: number;
  streamsCompleted: number;
  streamsReset: number;
  bytesVerified: number;
  listenerSessions: number;
  /** Real time since the start, ms. */
  wallMs: number;
}

export interface SoakReport {
  seed: number;
  quiet: QuietPoint[];
  problem: string | null;
  injected: number;
  injectedAccepted: number;
  pathDownEvents: number;
  /** Largest census of the running (not quiet) state seen at the per-second samples. */
  peakLive: Census;
}

/** Sizes spread like web and video traffic: mostly small, some medium, a few large. */
function size(seed: number, n: number): number {
  const r = new SeededRng((seed * 2654435761 + n * 40503) >>> 0);
  const roll = r.next();
  if (roll < 0.7) return 1 + Math.floor(r.next() * 20_000);
  if (roll < 0.95) return 50_000 + Math.floor(r.next() * 450_000);
  return 1_000_000 + Math.floor(r.next() * 2_000_000);
}

/** Runs the soak; throws only for a broken harness, reports everything else. */
export function soak(opts: SoakOptions): SoakReport {
  const started = performance.now();
  const { seed } = opts;
  const rng = new SeededRng(seed ^ 0x50a4);
  const scale = opts.rateScale ?? 1;
  const bursty = { delayMs: 70, rateMbps: 16 * scale, queueMs: 60, lossRate: 0.01, burstLoss: { meanLossRate: 0.01, meanBurstLength: 4 } };
  const random = { delayMs: 90, rateMbps: 8 * scale, queueMs: 60, lossRate: 0.02 };
  const paths: PathSpec[] = [
    { aToB: { ...bursty }, bToA: { ...bursty } },
    { aToB: { ...random }, bToA: { ...random } },
  ];
  const captured: Captured[] = [];
  const pair = simPair({
    psk: PSK,
    seed,
    paths,
    record: (c) => {
      // A small rolling capture for the replays.
      if (rng.next() < 0.01) captured[rng.nextU32() % 256] = c;
    },
  });
  const { net, dialer, listener, listenerSide } = pair;
  const transfers = new Transfers(() => dialer, () => listenerSide.peerOf(dialer), {
    upBytes: (n) => Math.ceil(size(seed, n) * scale),
    downBytes: (id) => Math.ceil(size(seed ^ 0xd0, id) * scale),
    concurrent: 6,
    resetEvery: opts.resets === true ? 13 : undefined,
  });
  net.onStep(() => transfers.pump());

  // Path 1 goes dark for 3 s every 47 s, path 0 for 2 s every 131 s (now and then both at once).
  const darken = (pathId: number, everyMs: number, darkMs: number): void => {
    net.every(everyMs, (now) => {
      const l = net.links[pathId];
      for (const link of [l.aToB, l.bToA]) link.setConfig({ blackouts: [{ fromMs: now, toMs: now + darkMs }] });
    });
  };
  darken(1, 47_000, 3000);
  darken(0, 131_000, 2000);

  // Ten replayed or forged datagrams a second, to both ends.
  let injected = 0;
  let injectedAccepted = 0;
  net.every(100, (now) => {
    const server = listenerSide.peerOf(dialer);
    if (server === undefined) return;
    const c = captured[rng.nextU32() % 256];
    let d: Captured;
    if (c !== undefined && rng.next() < 0.6) {
      d = c;
    } else if (rng.next() < 0.5) {
      d = { toListener: true, pathId: 0, bytes: new HandshakeInitiator(new Uint8Array(32).fill(1), rng.nextU32(), rng, WALL_EPOCH + now).packet };
    } else {
      const b = new Uint8Array(DATA_HEADER_LEN + 16 + (rng.nextU32() % 1000));
      rng.fill(b);
      b[0] = PacketType.Data;
      b[1] = rng.nextU32() % 2;
      const toListener = rng.next() < 0.5;
      const sid = toListener ? server.id : dialer.id;
      b.set([sid >>> 24, (sid >>> 16) & 0xff, (sid >>> 8) & 0xff, sid & 0xff], 2);
      d = { toListener, pathId: b[1], bytes: b };
    }
    injected++;
    // A buffer of its own per injection, as from a socket: the receiver opens it in place.
    const bytes = Uint8Array.from(d.bytes);
    const ok = d.toListener ? listener.handleDatagram(now, WALL_EPOCH + now, bytes).kind !== 'drop' : dialer.handleDatagram(now, d.pathId, bytes) === 'accepted';
    if (ok) injectedAccepted++;
  });

  const sessions = (): Session[] => [dialer, ...listenerSide.sessions];
  const peakLive: Census = {};
  net.every(1000, () => {
    const c = stateCensus(sessions(), listener);
    for (const [k, v] of Object.entries(c)) if (v > (peakLive[k] ?? 0)) peakLive[k] = v;
  });
  const quiet: QuietPoint[] = [];
  let problem: string | null = null;
  while (net.now < opts.durationMs && problem === null) {
    const end = net.now + opts.segmentMs;
    transfers.more = true;
    net.runUntil(end, () => transfers.problem !== null);
    transfers.more = false;
    net.runUntil(end + 120_000, () => transfers.active === 0 || transfers.problem !== null);
    // Let acknowledgements, FEC groups and loss reports settle too.
    net.runUntil(net.now + 3000);
    problem = transfers.problem ?? (transfers.active > 0 ? `streams still running ${net.now - end} ms after the segment ended` : null);
    const q: QuietPoint = {
      atMs: net.now,
      census: stateCensus(sessions(), listener),
      heapBytes: liveHeap(),
      streamsCompleted: transfers.completed,
      streamsReset: transfers.reset,
      bytesVerified: transfers.bytesVerified,
      listenerSessions: listener.sessionCount,
      wallMs: performance.now() - started,
    };
    quiet.push(q);
    opts.onSegment?.(q);
  }
  return { seed, quiet, problem, injected, injectedAccepted, pathDownEvents: transfers.pathDowns, peakLive };
}

/** Census of every session and the listener, under `sessions` and `listener`. */
function stateCensus(sessions: Session[], listener: Listener): Census {
  const c: Census = {};
  const seen = new Set<object>();
  for (const s of sessions) census(s, 'session', c, seen);
  census(listener, 'listener', c, seen);
  return c;
}

/**
 * Containers capped by design, which fill up towards their cap over a run rather than leak: the
 * FEC engine's matrix caches (512 entries each) and the received-ranges sets (256 ranges per
 * path). {@link growth} leaves them out; {@link overCaps} checks them against their caps.
 */
const CAPPED: Array<{ key: RegExp; cap: (c: Census) => number }> = [
  { key: /\.rs\.(en|de)codeCache\.map$/, cap: () => 512 },
  { key: /\.received\.received\.(starts|ends)$/, cap: (c) => 256 * (c['session.paths.all'] ?? 0) },
];

/**
 * Containers that hold more at the last quiet point than the most at any earlier one (after the
 * first, which is the warm-up), beyond `slack` entries or bytes and 10%: the leaks.
 */
export function growth(quiet: QuietPoint[], slack: { entries: number; bytes: number }): string[] {
  if (quiet.length < 3) throw new Error('growth() needs at least three quiet points');
  const last = quiet[quiet.length - 1].census;
  const earlier = quiet.slice(1, -1);
  const out: string[] = [];
  for (const [key, value] of Object.entries(last)) {
    if (CAPPED.some((c) => c.key.test(key))) continue;
    const before = Math.max(...earlier.map((q) => q.census[key] ?? 0));
    const allowed = before * 1.1 + (key.endsWith('#bytes') ? slack.bytes : slack.entries);
    if (value > allowed) out.push(`${key}: ${before} -> ${value}`);
  }
  return out;
}

/** Capped containers above their cap in `c`. */
export function overCaps(c: Census): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(c)) {
    const capped = CAPPED.find((x) => x.key.test(key));
    if (capped !== undefined && value > capped.cap(c)) out.push(`${key}: ${value} > ${capped.cap(c)}`);
  }
  return out;
}
