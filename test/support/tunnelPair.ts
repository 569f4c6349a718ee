import type { SessionEvent, StreamId } from '../../src/session/api.ts';
import type { SessionConfig } from '../../src/session/config.ts';
import { Listener } from '../../src/session/listener.ts';
import { SeededRng } from '../../src/base/rng.ts';
import type { StreamProbe } from '../../src/session/streamProbe.ts';
import { Session } from '../../src/session/session.ts';
import { loadFec } from '../../src/fec/index.ts';
import { HostNode, type HostConfig } from '../../src/sim/host.ts';
import { SimNetwork, type PathSpec, type SimNode } from '../../src/sim/network.ts';
import { DialerSide, ListenerSide, WALL_EPOCH } from './simNodes.ts';

export const TEST_PSK = new Uint8Array(32).fill(7);

/**
 * A dialer and a listener joined by simulated paths; with `host`, each runs on a modelled host
 * (sim/host.ts), and the application calls `wake(now)` after it fed either side.
 */
export function tunnelPair(opts: {
  paths: PathSpec[];
  seed: number;
  config?: Partial<SessionConfig>;
  fec?: boolean;
  host?: HostConfig;
  /** Stream probes of the dialer and of the listener's sessions. */
  probes?: { dialer: StreamProbe; listener: StreamProbe };
}) {
  const fec = opts.fec ? loadFec() : undefined;
  const dialer = Session.dial({
    fec,
    now: 0,
    wallNow: WALL_EPOCH,
    psk: TEST_PSK,
    pathIds: opts.paths.map((_, i) => i),
    rng: new SeededRng(opts.seed ^ 0x1234),
    config: opts.config,
    probe: opts.probes?.dialer,
  });
  const listenerNode = new ListenerSide(new Listener({ psk: TEST_PSK, rng: new SeededRng(opts.seed ^ 0x4321), config: opts.config, fec, probe: opts.probes?.listener }));
  const host = opts.host;
  const hosts =
    host === undefined
      ? null
      : [new HostNode(new DialerSide(dialer), host, new SeededRng(opts.seed ^ 0x5a5a)), new HostNode(listenerNode, host, new SeededRng(opts.seed ^ 0xa5a5))];
  const a: SimNode = hosts?.[0] ?? new DialerSide(dialer);
  const b: SimNode = hosts?.[1] ?? listenerNode;
  const net = new SimNetwork({ a, b, paths: opts.paths, seed: opts.seed });
  const wake = (now: number): void => {
    if (hosts !== null) for (const h of hosts) h.wake(now);
  };
  return { dialer, listenerNode, net, hosts, wake };
}

/** Deterministic stream content: byte i of every test stream is PATTERN[i % PATTERN.length]. */
const PATTERN = (() => {
  const rng = new SeededRng(99);
  const p = new Uint8Array(65_521);
  rng.fill(p);
  return p;
})();

/** The pattern twice over, so any chunk up to PATTERN.length long is one view, no copy. */
const PATTERN_TWICE = (() => {
  const p = new Uint8Array(PATTERN.length * 2);
  p.set(PATTERN);
  p.set(PATTERN, PATTERN.length);
  return p;
})();

/** Pattern bytes [offset, offset + length) as a read-only view; length at most 65,521. */
export function patternChunk(offset: number, length: number): Uint8Array {
  const at = offset % PATTERN.length;
  return PATTERN_TWICE.subarray(at, at + length);
}

/** Checks that `data` is the pattern at `offset`; returns the first bad index or -1. */
export function checkPattern(offset: number, data: Uint8Array): number {
  // Compared natively a pattern's length at a time (this runs over every byte of every simulated
  // transfer); a byte at a time only inside a block that differs, to say where.
  for (let start = 0; start < data.length; start += PATTERN.length) {
    const block = data.subarray(start, start + PATTERN.length);
    const expected = patternChunk(offset + start, block.length);
    if (Buffer.compare(block, expected) === 0) continue;
    for (let i = 0; i < block.length; i++) if (block[i] !== expected[i]) return start + i;
  }
  return -1;
}

/** Writes `total` pattern bytes to a stream as fast as the session accepts, then FIN. */
export class PatternWriter {
  offset = 0;
  finished = false;
  constructor(
    readonly session: Session,
    readonly streamId: StreamId,
    readonly total: number,
    readonly chunk = 60 * 1024,
  ) {}

  pump(): void {
    while (this.offset < this.total) {
      const n = Math.min(this.chunk, this.total - this.offset);
      const took = this.session.streamWrite(this.streamId, patternChunk(this.offset, n));
      this.offset += took;
      if (took < n) return;
    }
    if (!this.finished) {
      this.session.streamFinish(this.streamId);
      this.finished = true;
    }
  }
}

/** Reads a stream, verifying content, recording progress. */
export class PatternReader {
  received = 0;
  corruptAt = -1;
  fin = false;
  finAt = -1;
  /** (time, bytes) samples taken at each read. */
  readonly progress: Array<[number, number]> = [];
  constructor(
    readonly session: Session,
    readonly streamId: StreamId,
  ) {}

  pump(now: number, paused = false): void {
    if (paused) return;
    for (;;) {
      const r = this.session.streamRead(this.streamId);
      if (r === null) return;
      if (r === 'fin') {
        this.fin = true;
        this.finAt = now;
        return;
      }
      if (this.corruptAt < 0) {
        const bad = checkPattern(this.received, r);
        if (bad >= 0) this.corruptAt = this.received + bad;
      }
      this.received += r.length;
      this.progress.push([now, this.received]);
    }
  }
}

/** Drains a session's events into a list (tests look at them) and returns the new ones. */
export function drainEvents(session: Session, into: SessionEvent[]): SessionEvent[] {
  const fresh: SessionEvent[] = [];
  for (let ev = session.pollEvent(); ev !== null; ev = session.pollEvent()) fresh.push(ev);
  into.push(...fresh);
  return fresh;
}

/** Longest time between two consecutive deliveries within [fromMs, toMs] of (time, bytes) samples. */
export function longestStall(progress: Array<[number, number]>, fromMs: number, toMs = Infinity): number {
  let worst = 0;
  let last = fromMs;
  for (const [t] of progress) {
    if (t < fromMs || t > toMs) continue;
    worst = Math.max(worst, t - last);
    last = t;
  }
  return worst;
}

/** Goodput in Mbit/s between two times from (time, bytes) samples. */
export function goodputMbps(progress: Array<[number, number]>, fromMs: number, toMs: number): number {
  let startBytes = 0;
  let startT = fromMs;
  let endBytes = 0;
  let endT = fromMs;
  for (const [t, b] of progress) {
    if (t <= fromMs) {
      startBytes = b;
      startT = t;
    }
    if (t <= toMs) {
      endBytes = b;
      endT = t;
    }
  }
  return endT > startT ? ((endBytes - startBytes) * 8) / ((endT - startT) * 1000) : 0;
}
