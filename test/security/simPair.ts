/**
 * A dialer session and a {@link Listener} on the simulator, with a tap on every delivered
 * datagram (for capture and replay) and streams of known content both ways, checked byte by
 * byte. The security, reliability and soak tests and benches build on it.
 */
import { loadFec } from '../../src/fec/index.ts';
import type { SessionEvent, StreamId } from '../../src/session/api.ts';
import type { SessionConfig } from '../../src/session/config.ts';
import { Listener, type HandshakeRateLimit } from '../../src/session/listener.ts';
import { SeededRng } from '../../src/base/rng.ts';
import { Session } from '../../src/session/session.ts';
import { SimNetwork, type PathSpec } from '../../src/sim/network.ts';

import { DialerSide, ListenerSide, WALL_EPOCH } from '../support/simNodes.ts';

export { DialerSide, ListenerSide, WALL_EPOCH };

/** One delivered datagram: which end received it, on which path. */
export interface Captured {
  toListener: boolean;
  pathId: number;
  bytes: Uint8Array;
}

export interface SimPairOptions {
  psk: Uint8Array;
  seed: number;
  paths: PathSpec[];
  config?: Partial<SessionConfig>;
  /** Forward error correction with the wasm engine (default on, as the relays run). */
  fec?: boolean;
  maxSessions?: number;
  handshakeRate?: HandshakeRateLimit;
  /** Gets a copy of every delivered datagram. */
  record?: (c: Captured) => void;
}

/** A dialer and a listener joined by `paths`; nothing runs until `net.runUntil`. */
export function simPair(opts: SimPairOptions) {
  const fec = opts.fec === false ? undefined : loadFec();
  const dialer = Session.dial({
    now: 0,
    wallNow: WALL_EPOCH,
    psk: opts.psk,
    pathIds: opts.paths.map((_, i) => i),
    rng: new SeededRng(opts.seed ^ 0x1111),
    config: opts.config,
    fec,
  });
  const listener = new Listener({
    psk: opts.psk,
    rng: new SeededRng(opts.seed ^ 0x2222),
    config: opts.config,
    fec,
    maxSessions: opts.maxSessions,
    handshakeRate: opts.handshakeRate,
  });
  const dialerSide = new DialerSide(dialer);
  const listenerSide = new ListenerSide(listener);
  const record = opts.record;
  if (record !== undefined) {
    dialerSide.tap = (pathId, bytes) => record({ toListener: false, pathId, bytes: Uint8Array.from(bytes) });
    listenerSide.tap = (pathId, bytes) => record({ toListener: true, pathId, bytes: Uint8Array.from(bytes) });
  }
  const net = new SimNetwork({ a: dialerSide, b: listenerSide, paths: opts.paths, seed: opts.seed });
  return { dialer, listener, dialerSide, listenerSide, net };
}

/**
 * Byte i of direction `dir` (0: dialer to listener, 1: back) of stream `id`. A function of all
 * three, so bytes delivered to the wrong stream or direction are caught as well as corrupt ones.
 */
export function content(id: number, dir: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const salt = id * 29 + dir * 101;
  for (let i = 0; i < length; i++) {
    const x = offset + i;
    out[i] = (x * 131 + (x >>> 8) * 7 + salt) & 0xff;
  }
  return out;
}

interface Writer {
  session: Session;
  id: StreamId;
  dir: number;
  offset: number;
  total: number;
  /** The dialer aborts the stream once it has written this much (Infinity: never). */
  resetAt: number;
  /**
   * Content made for `offset` on that the session refused, kept for the next try: a writer held
   * back is tried at every step, and making its 16 KiB again each time was most of a run's CPU.
   */
  pending: Uint8Array | null;
}

interface Reader {
  session: Session;
  id: StreamId;
  dir: number;
  offset: number;
}

export interface TransferOptions {
  /** Dialer-to-listener bytes of the n-th stream. */
  upBytes: (n: number) => number;
  /** Listener-to-dialer bytes of the stream with this id (0: the listener just finishes). */
  downBytes: (id: StreamId) => number;
  /** Streams running at once. */
  concurrent: number;
  /** Every n-th stream the dialer resets halfway through its upload, as a viewer who hangs up. */
  resetEvery?: number;
}

/**
 * Streams of {@link content} through a dialer and the listener side's first session: the dialer
 * opens up to `concurrent` at a time and writes `upBytes(n)`; the listener answers each with
 * `downBytes(id)`; both ends finish and read to the FIN, checking every byte. Call {@link pump}
 * from an `onStep` hook. A close, a wrong byte or a reset other than the planned ones
 * (`resetEvery`) is recorded in {@link problem}.
 */
export class Transfers {
  opened = 0;
  /** Streams read to the FIN in both directions. */
  completed = 0;
  /** Streams the dialer reset on purpose. */
  reset = 0;
  /** 'pathDown' events at either end. */
  pathDowns = 0;
  bytesVerified = 0;
  problem: string | null = null;
  /** Open new streams; set false to let the running ones finish. */
  more = true;
  private readonly writers: Writer[] = [];
  private readonly readers = new Map<string, Reader>();
  /** Directions read to the FIN, per stream id; 2 means done. */
  private readonly finished = new Map<StreamId, number>();
  /** Streams the dialer reset whose reset the listener has not seen yet. */
  private readonly aborted = new Set<StreamId>();
  private n = 0;

  constructor(
    private readonly dialer: () => Session,
    private readonly server: () => Session | undefined,
    private readonly opts: TransferOptions,
  ) {}

  /** Streams opened and neither complete both ways nor reset. */
  get active(): number {
    return this.opened - this.completed - this.reset;
  }

  pump(): void {
    const d = this.dialer();
    const server = this.server();
    while (d.isConnected && this.more && this.active < this.opts.concurrent) {
      const id = d.openStream();
      if (id === null) break;
      this.opened++;
      const n = this.n++;
      const total = this.opts.upBytes(n);
      const resets = this.opts.resetEvery !== undefined && n % this.opts.resetEvery === this.opts.resetEvery - 1;
      this.writers.push({ session: d, id, dir: 0, offset: 0, total, resetAt: resets ? Math.floor(total / 2) : Infinity, pending: null });
      this.readers.set(`1:${id}`, { session: d, id, dir: 1, offset: 0 });
    }
    for (const s of [d, server]) {
      if (s === undefined) continue;
      for (let e = s.pollEvent(); e !== null; e = s.pollEvent()) this.onEvent(s, e);
    }
    for (let i = 0; i < this.writers.length; ) {
      const w = this.writers[i];
      if (this.write(w)) this.writers.splice(i, 1);
      else i++;
    }
    for (const r of this.readers.values()) this.read(r);
  }

  private onEvent(s: Session, e: SessionEvent): void {
    if (e.type === 'pathDown') this.pathDowns++;
    if (e.type === 'streamOpened' && s !== this.dialer()) {
      this.readers.set(`0:${e.streamId}`, { session: s, id: e.streamId, dir: 0, offset: 0 });
      this.writers.push({ session: s, id: e.streamId, dir: 1, offset: 0, total: this.opts.downBytes(e.streamId), resetAt: Infinity, pending: null });
      return;
    }
    if (e.type === 'streamReset' && this.aborted.delete(e.streamId)) {
      this.readers.delete(`0:${e.streamId}`);
      this.dropWriter(s, e.streamId);
      return;
    }
    if (e.type === 'streamReset' || e.type === 'closed') {
      this.problem ??= `unexpected ${e.type} at the ${s === this.dialer() ? 'dialer' : 'listener'}: ${JSON.stringify(e)}`;
    }
  }

  private dropWriter(s: Session, id: StreamId): void {
    const i = this.writers.findIndex((w) => w.session === s && w.id === id);
    if (i >= 0) this.writers.splice(i, 1);
  }

  /** Writes what the session takes; true once everything and the FIN are queued, or it was reset. */
  private write(w: Writer): boolean {
    while (w.offset < w.total) {
      if (w.offset >= w.resetAt) {
        w.session.streamReset(w.id, 1);
        this.readers.delete(`1:${w.id}`);
        this.finished.delete(w.id);
        this.aborted.add(w.id);
        this.reset++;
        return true;
      }
      const chunk = w.pending ?? content(w.id, w.dir, w.offset, Math.min(16_384, w.total - w.offset, w.resetAt - w.offset));
      const took = w.session.streamWrite(w.id, chunk);
      w.offset += took;
      w.pending = took < chunk.length ? chunk.subarray(took) : null;
      if (w.pending !== null) return false;
    }
    w.session.streamFinish(w.id);
    return true;
  }

  private read(r: Reader): void {
    for (;;) {
      const got = r.session.streamRead(r.id);
      if (got === null) return;
      if (got === 'fin') {
        this.readers.delete(`${r.dir}:${r.id}`);
        const both = (this.finished.get(r.id) ?? 0) + 1;
        if (both === 2) {
          this.finished.delete(r.id);
          this.completed++;
        } else {
          this.finished.set(r.id, both);
        }
        return;
      }
      const want = content(r.id, r.dir, r.offset, got.length);
      for (let i = 0; i < got.length; i++) {
        if (got[i] !== want[i]) {
          this.problem ??= `stream ${r.id} direction ${r.dir}: wrong byte at offset ${r.offset + i}`;
          break;
        }
      }
      r.offset += got.length;
      this.bytesVerified += got.length;
    }
  }
}
