/**
 * A small stand-in for the sans-IO core (Session and Listener) with the same call surface, so the
 * drivers and relays can be tested on their own: no crypto and no loss recovery (tests run it in
 * memory or over loopback UDP), but real stream semantics: credit-based flow control per stream,
 * a bounded send buffer with `streamWritable`, FIN, reset, close and an idle timeout.
 *
 * Datagram: kind u8 | path id u8 | session id u32 | stream id u32 | payload.
 */
import type { PathId, ReadResult, Receipt, SessionEvent, StreamId, Transmit } from '../../src/session/api.ts';
import type { CoreListener, CoreListenerResult, CoreSession } from '../../src/io/core.ts';
import type { PeerAddress } from '../../src/session/pathValidation.ts';

const HELLO = 1;
const WELCOME = 2;
const OPEN = 3;
const DATA = 4;
const FIN = 5;
const RESET = 6;
const CREDIT = 7;
const CLOSE = 8;
const PING = 9;

const HEADER = 10;
const MTU = 1200;

export interface FakeConfig {
  /** Receive window per stream (credit granted up front and as the reader consumes). */
  windowBytes: number;
  /** Bytes a stream holds written but unsent before streamWrite refuses more. */
  sendBufferBytes: number;
  idleTimeoutMs: number;
  keepAliveMs: number;
}

const DEFAULTS: FakeConfig = { windowBytes: 256 * 1024, sendBufferBytes: 256 * 1024, idleTimeoutMs: 3000, keepAliveMs: 500 };

interface FakeStream {
  sendQueue: Uint8Array[];
  sendQueued: number;
  credit: number;
  finQueued: boolean;
  finSent: boolean;
  wantWritable: boolean;
  recv: Uint8Array[];
  recvFin: boolean;
  finRead: boolean;
  /** Bytes read by the app not yet returned to the peer as credit. */
  toCredit: number;
}

function frame(kind: number, sessionId: number, streamId: number, payload?: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + (payload?.length ?? 0));
  const v = new DataView(out.buffer);
  v.setUint8(0, kind);
  v.setUint32(2, sessionId);
  v.setUint32(6, streamId);
  if (payload) out.set(payload, HEADER);
  return out;
}

function withPath(bytes: Uint8Array, pathId: PathId): Uint8Array {
  bytes[1] = pathId;
  return bytes;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

let nextDialId = 1;

/** Stand-in for `Session`. */
export class FakeSession implements CoreSession {
  readonly id: number;
  isConnected = false;
  isClosed = false;
  /** Datagrams handed to the driver. */
  sentDatagrams = 0;
  private readonly cfg: FakeConfig;
  private readonly paths: PathId[];
  private readonly addresses: Array<{ from: PeerAddress; local: number } | undefined> = [];
  private nextPath = 0;
  private readonly out: Transmit[] = [];
  private readonly events: SessionEvent[] = [];
  private readonly streams = new Map<StreamId, FakeStream>();
  private nextStreamId: number;
  private lastRecv: number;
  private lastSend: number;
  private helloAt = -Infinity;

  private constructor(id: number, dialer: boolean, now: number, paths: PathId[], cfg: Partial<FakeConfig> | undefined) {
    this.id = id;
    this.cfg = { ...DEFAULTS, ...cfg };
    this.paths = paths;
    this.nextStreamId = dialer ? 0 : 1;
    this.lastRecv = now;
    this.lastSend = now;
  }

  /** Like `Session.dial`: sends HELLO on every path until WELCOME arrives. */
  static dial(now: number, pathIds: PathId[], cfg?: Partial<FakeConfig>): FakeSession {
    const s = new FakeSession(nextDialId++, true, now, pathIds, cfg);
    s.handleTimeout(now);
    return s;
  }

  /** The listener side of a session created by a HELLO. */
  static accept(id: number, now: number, cfg?: Partial<FakeConfig>): FakeSession {
    const s = new FakeSession(id, false, now, [], cfg);
    s.isConnected = true;
    s.events.push({ type: 'connected' });
    return s;
  }

  pathAddress(pathId: PathId): PeerAddress | null {
    return this.addresses[pathId]?.from ?? null;
  }

  pathLocal(pathId: PathId): number {
    return this.addresses[pathId]?.local ?? 0;
  }

  handleDatagram(now: number, pathId: PathId, bytes: Uint8Array, from?: PeerAddress, local = 0): Receipt {
    if (this.isClosed || bytes.length < HEADER) return 'dropped';
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const kind = v.getUint8(0);
    if (v.getUint32(2) !== this.id || v.getUint8(1) !== pathId) return 'dropped';
    const streamId = v.getUint32(6);
    const payload = bytes.subarray(HEADER);
    this.lastRecv = now;
    // A double: follows the last source, without the real core's validation.
    if (from !== undefined) this.addresses[pathId] = { from, local };
    if (!this.paths.includes(pathId)) this.paths.push(pathId);
    switch (kind) {
      case WELCOME:
        if (!this.isConnected) {
          this.isConnected = true;
          this.events.push({ type: 'connected' });
          // Let the listener learn every path, as the real dialer does.
          for (const p of this.paths) this.out.push({ pathId: p, bytes: withPath(frame(PING, this.id, 0), p) });
        }
        break;
      case OPEN:
        if (!this.streams.has(streamId)) {
          this.streams.set(streamId, this.newStream());
          this.events.push({ type: 'streamOpened', streamId, service: new TextDecoder().decode(payload) });
        }
        break;
      case DATA: {
        const s = this.streams.get(streamId);
        if (s) {
          s.recv.push(payload.slice());
          this.events.push({ type: 'streamReadable', streamId });
        }
        break;
      }
      case FIN: {
        const s = this.streams.get(streamId);
        if (s) {
          s.recvFin = true;
          this.events.push({ type: 'streamReadable', streamId });
        }
        break;
      }
      case RESET:
        if (this.streams.delete(streamId)) {
          this.events.push({ type: 'streamReset', streamId, code: new DataView(payload.buffer, payload.byteOffset).getUint32(0) });
          this.events.push({ type: 'streamClosed', streamId });
        }
        break;
      case CREDIT: {
        const s = this.streams.get(streamId);
        if (s) s.credit += new DataView(payload.buffer, payload.byteOffset).getUint32(0);
        break;
      }
      case CLOSE:
        this.terminate(new TextDecoder().decode(payload), true);
        break;
      default:
        break;
    }
    return 'accepted';
  }

  pollTransmit(now: number): Transmit | null {
    if (this.out.length === 0) this.fillOut();
    const t = this.out.shift() ?? null;
    if (t) {
      this.lastSend = now;
      this.sentDatagrams++;
    }
    return t;
  }

  nextTimeout(): number | null {
    if (this.isClosed) return null;
    const hello = this.isConnected ? Infinity : this.helloAt + 200;
    return Math.min(this.lastRecv + this.cfg.idleTimeoutMs, this.lastSend + this.cfg.keepAliveMs, hello);
  }

  handleTimeout(now: number): void {
    if (this.isClosed) return;
    if (now >= this.lastRecv + this.cfg.idleTimeoutMs) {
      this.terminate('idle timeout', false);
      return;
    }
    if (!this.isConnected && now >= this.helloAt + 200) {
      this.helloAt = now;
      for (const p of this.paths) this.out.push({ pathId: p, bytes: withPath(frame(HELLO, this.id, 0), p) });
    } else if (now >= this.lastSend + this.cfg.keepAliveMs) {
      this.send(frame(PING, this.id, 0));
    }
  }

  pollEvent(): SessionEvent | null {
    return this.events.shift() ?? null;
  }

  openStream(service?: string): StreamId | null {
    if (!this.isConnected || this.isClosed) return null;
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.streams.set(id, this.newStream());
    this.send(frame(OPEN, this.id, id, new TextEncoder().encode(service ?? '')));
    return id;
  }

  streamWrite(id: StreamId, data: Uint8Array): number {
    const s = this.streams.get(id);
    if (!s || s.finQueued) return 0;
    const n = Math.min(data.length, this.cfg.sendBufferBytes - s.sendQueued);
    if (n < data.length) s.wantWritable = true;
    if (n > 0) {
      s.sendQueue.push(data.slice(0, n));
      s.sendQueued += n;
    }
    return n;
  }

  streamRead(id: StreamId, maxBytes = Infinity): ReadResult {
    const s = this.streams.get(id);
    if (!s) return null;
    const head = s.recv[0];
    if (head === undefined) {
      if (s.recvFin && !s.finRead) {
        s.finRead = true;
        this.maybeClosed(id, s);
        return 'fin';
      }
      return null;
    }
    let chunk = head;
    if (head.length > maxBytes) {
      chunk = head.subarray(0, maxBytes);
      s.recv[0] = head.subarray(maxBytes);
    } else {
      s.recv.shift();
    }
    s.toCredit += chunk.length;
    if (s.toCredit >= this.cfg.windowBytes / 4) {
      this.send(frame(CREDIT, this.id, id, u32(s.toCredit)));
      s.toCredit = 0;
    }
    return chunk;
  }

  streamFinish(id: StreamId): void {
    const s = this.streams.get(id);
    if (s) s.finQueued = true;
  }

  streamReset(id: StreamId, code: number): void {
    if (!this.streams.delete(id)) return;
    this.send(frame(RESET, this.id, id, u32(code)));
    this.events.push({ type: 'streamClosed', streamId: id });
  }

  close(_now: number, reason: string): void {
    if (this.isClosed) return;
    this.send(frame(CLOSE, this.id, 0, new TextEncoder().encode(reason)));
    this.terminate(reason, false);
  }

  /** Live streams. */
  get streamCount(): number {
    return this.streams.size;
  }

  private newStream(): FakeStream {
    return {
      sendQueue: [],
      sendQueued: 0,
      credit: this.cfg.windowBytes,
      finQueued: false,
      finSent: false,
      wantWritable: false,
      recv: [],
      recvFin: false,
      finRead: false,
      toCredit: 0,
    };
  }

  private send(bytes: Uint8Array): void {
    const pathId = this.paths[this.nextPath++ % Math.max(1, this.paths.length)] ?? 0;
    this.out.push({ pathId, bytes: withPath(bytes, pathId) });
  }

  /** Moves stream data that has credit into datagrams. */
  private fillOut(): void {
    for (const [id, s] of this.streams) {
      while (s.sendQueue.length > 0 && s.credit > 0 && this.out.length < 64) {
        const head = s.sendQueue[0];
        const n = Math.min(head.length, MTU - HEADER, s.credit);
        this.send(frame(DATA, this.id, id, head.subarray(0, n)));
        s.credit -= n;
        s.sendQueued -= n;
        if (n === head.length) s.sendQueue.shift();
        else s.sendQueue[0] = head.subarray(n);
      }
      if (s.wantWritable && s.sendQueued < this.cfg.sendBufferBytes / 2) {
        s.wantWritable = false;
        this.events.push({ type: 'streamWritable', streamId: id });
      }
      if (s.finQueued && !s.finSent && s.sendQueue.length === 0) {
        s.finSent = true;
        this.send(frame(FIN, this.id, id));
        this.maybeClosed(id, s);
      }
    }
  }

  private maybeClosed(id: StreamId, s: FakeStream): void {
    if (s.finSent && s.finRead) {
      this.streams.delete(id);
      this.events.push({ type: 'streamClosed', streamId: id });
    }
  }

  private terminate(reason: string, byPeer: boolean): void {
    this.isClosed = true;
    this.isConnected = false;
    this.streams.clear();
    this.events.push({ type: 'closed', reason, byPeer });
  }
}

/** Stand-in for `Listener`: a HELLO with a new session id creates a session. */
export class FakeListener implements CoreListener {
  readonly sessions = new Map<number, FakeSession>();
  constructor(private readonly cfg?: Partial<FakeConfig>) {}

  handleDatagram(now: number, _wallNow: number, bytes: Uint8Array, from?: PeerAddress, local = 0): CoreListenerResult {
    if (bytes.length < HEADER) return { kind: 'drop' };
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const id = v.getUint32(2);
    const pathId = v.getUint8(1);
    const existing = this.sessions.get(id);
    if (v.getUint8(0) === HELLO) {
      // Like the real listener, a session learns its paths from data packets, not handshakes.
      const session = existing ?? FakeSession.accept(id, now, this.cfg);
      this.sessions.set(id, session);
      return { kind: 'accepted', session, reply: withPath(frame(WELCOME, id, 0), pathId) };
    }
    if (existing === undefined || existing.handleDatagram(now, pathId, bytes, from, local) !== 'accepted') return { kind: 'drop' };
    return { kind: 'routed', session: existing, pathId };
  }

  forget(session: CoreSession): void {
    this.sessions.delete(session.id);
  }
}
