import type { SessionEvent, StreamId } from '../../src/session/api.ts';
import type { SessionConfig } from '../../src/session/config.ts';
import { Listener } from '../../src/session/listener.ts';
import { SeededRng } from '../../src/session/rng.ts';
import { Session } from '../../src/session/session.ts';
import { loadFec, type ReedSolomon } from '../../src/fec/index.ts';
import { SimNetwork, type PathSpec, type SimNode } from '../../src/sim/network.ts';

export const TEST_PSK = new Uint8Array(32).fill(7);
/** Wall-clock epoch the simulated handshakes claim. */
const WALL_EPOCH = 1_800_000_000_000;

/** The listener side as one simulator node: handshake replies go back on the path they came from. */
export class ListenerNode implements SimNode {
  readonly listener: Listener;
  readonly sessions: Session[] = [];
  private readonly replies: Array<{ pathId: number; bytes: Uint8Array }> = [];
  private rr = 0;

  constructor(seed: number, config?: Partial<SessionConfig>, fec?: ReedSolomon) {
    this.listener = new Listener({ psk: TEST_PSK, rng: new SeededRng(seed), config, fec });
  }

  handleDatagram(now: number, pathId: number, bytes: Uint8Array): void {
    const result = this.listener.handleDatagram(now, WALL_EPOCH + now, bytes);
    if (result.kind === 'accepted') {
      this.sessions.push(result.session);
      this.replies.push({ pathId, bytes: result.reply });
    }
  }

  pollTransmit(now: number): { pathId: number; bytes: Uint8Array } | null {
    const reply = this.replies.shift();
    if (reply !== undefined) return reply;
    for (let i = 0; i < this.sessions.length; i++) {
      const session = this.sessions[(this.rr + i) % this.sessions.length];
      const t = session.pollTransmit(now);
      if (t !== null) {
        this.rr = (this.rr + i + 1) % this.sessions.length;
        return t;
      }
    }
    return null;
  }

  nextTimeout(): number | null {
    let t: number | null = null;
    for (const s of this.sessions) {
      const st = s.nextTimeout();
      if (st !== null && (t === null || st < t)) t = st;
    }
    return t;
  }

  handleTimeout(now: number): void {
    for (const s of this.sessions) {
      const st = s.nextTimeout();
      if (st !== null && st <= now) s.handleTimeout(now);
    }
  }
}

/** A dialer session as a simulator node. */
export class DialerNode implements SimNode {
  constructor(readonly session: Session) {}
  handleDatagram(now: number, pathId: number, bytes: Uint8Array): void {
    this.session.handleDatagram(now, pathId, bytes);
  }
  pollTransmit(now: number) {
    return this.session.pollTransmit(now);
  }
  nextTimeout(): number | null {
    return this.session.nextTimeout();
  }
  handleTimeout(now: number): void {
    this.session.handleTimeout(now);
  }
}

/** A dialer and a listener joined by simulated paths. */
export function tunnelPair(opts: { paths: PathSpec[]; seed: number; config?: Partial<SessionConfig>; fec?: boolean }) {
  const fec = opts.fec ? loadFec() : undefined;
  const dialer = Session.dial({
    fec,
    now: 0,
    wallNow: WALL_EPOCH,
    psk: TEST_PSK,
    pathIds: opts.paths.map((_, i) => i),
    rng: new SeededRng(opts.seed ^ 0x1234),
    config: opts.config,
  });
  const listenerNode = new ListenerNode(opts.seed ^ 0x4321, opts.config, fec);
  const net = new SimNetwork({ a: new DialerNode(dialer), b: listenerNode, paths: opts.paths, seed: opts.seed });
  return { dialer, listenerNode, net };
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
  for (let i = 0; i < data.length; i++) if (data[i] !== PATTERN[(offset + i) % PATTERN.length]) return i;
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
