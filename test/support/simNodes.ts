/**
 * The two ends of a tunnel as simulator nodes: a dialer session, and a {@link Listener} run the
 * way the UDP driver runs it. Shared by every simulator test and bench.
 */
import type { Listener } from '../../src/session/listener.ts';
import type { PeerAddress } from '../../src/session/pathValidation.ts';
import type { Session } from '../../src/session/session.ts';
import type { SimNode } from '../../src/sim/network.ts';

/**
 * Lends each datagram to the core the way a socket does: read into one arena, overwritten once
 * handled, as the socket's next read would. Every simulated run then fails if the core keeps a
 * view of a datagram it was lent. (The sender's bytes stay untouched: they are its transmit.)
 */
class Arena {
  private bytes = new Uint8Array(2048);

  lend(datagram: Uint8Array): Uint8Array {
    if (this.bytes.length < datagram.length) this.bytes = new Uint8Array(datagram.length);
    const lent = this.bytes.subarray(0, datagram.length);
    lent.set(datagram);
    return lent;
  }

  scribble(lent: Uint8Array): void {
    lent.fill(0xa5);
  }
}

/** Wall-clock epoch the simulated handshakes claim; listener wall time is this plus `now`. */
export const WALL_EPOCH = 1_800_000_000_000;

/**
 * The listener side as one simulator node, run the way the UDP driver runs it: a handshake is
 * answered on the path it came from, and a session is forgotten once it has closed.
 */
export class ListenerSide implements SimNode {
  readonly sessions: Session[] = [];
  /** Sessions that closed and were forgotten, in order. */
  readonly closed: Session[] = [];
  /** Harnesses ask for a dialer's session at every step: found once, it stays the same. */
  private readonly peers = new WeakMap<Session, Session>();
  private readonly replies: Array<{ pathId: number; bytes: Uint8Array }> = [];
  /** Set by the pair: sees each delivered datagram before the listener does. */
  tap: ((pathId: number, bytes: Uint8Array) => void) | null = null;
  /**
   * The dialer's address per path, as the UDP driver would see it: when set, the listener is told
   * it as each datagram's source, and a session's transmits reach the dialer only while the
   * session sends that path to it (the rest go to {@link elsewhere}). Change it to rebind a NAT.
   */
  readonly dialerAddress: Array<PeerAddress | undefined> = [];
  /** Gets transmits a session addressed elsewhere than the dialer's current address. */
  elsewhere: ((to: PeerAddress, pathId: number, bytes: Uint8Array) => void) | null = null;

  private readonly arena = new Arena();

  constructor(readonly listener: Listener) {}

  /**
   * The session `dialer` is connected to, open or closed (undefined before the handshake). Not
   * always the first: when the answer to an init is lost, the dialer's retry makes a second
   * session, and the first one idles until its timeout (8 s).
   */
  peerOf(dialer: Session): Session | undefined {
    const known = this.peers.get(dialer);
    if (known !== undefined) return known;
    const id = dialer.tunnelId;
    if (id === null) return undefined;
    const found = this.sessions.find((s) => s.tunnelId === id) ?? this.closed.find((s) => s.tunnelId === id);
    if (found !== undefined) this.peers.set(dialer, found);
    return found;
  }

  handleDatagram(now: number, pathId: number, bytes: Uint8Array): void {
    this.deliver(now, pathId, bytes, this.dialerAddress[pathId]);
  }

  /** A datagram from `from` (a stranger's address, say) arrives on `pathId`'s listening socket. */
  deliver(now: number, pathId: number, bytes: Uint8Array, from: PeerAddress | undefined): void {
    this.tap?.(pathId, bytes);
    const lent = this.arena.lend(bytes);
    const r = this.listener.handleDatagram(now, WALL_EPOCH + now, lent, from);
    this.arena.scribble(lent);
    if (r.kind === 'accepted') {
      this.sessions.push(r.session);
      this.replies.push({ pathId, bytes: r.reply });
    }
  }

  pollTransmit(now: number): { pathId: number; bytes: Uint8Array } | null {
    const reply = this.replies.shift();
    if (reply !== undefined) return reply;
    for (const s of this.sessions) {
      for (let t = s.pollTransmit(now); t !== null; t = s.pollTransmit(now)) {
        const dialer = this.dialerAddress[t.pathId];
        const to = s.pathAddress(t.pathId);
        if (dialer === undefined || to === dialer) return t;
        if (to !== null) this.elsewhere?.(to, t.pathId, t.bytes);
      }
    }
    this.forgetClosed();
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

  private forgetClosed(): void {
    for (let i = this.sessions.length - 1; i >= 0; i--) {
      const s = this.sessions[i];
      if (!s.isClosed) continue;
      this.listener.forget(s);
      this.sessions.splice(i, 1);
      this.closed.push(s);
    }
  }
}

/** A dialer session as a simulator node, with the same tap. */
export class DialerSide implements SimNode {
  tap: ((pathId: number, bytes: Uint8Array) => void) | null = null;
  private readonly arena = new Arena();
  constructor(readonly session: Session) {}
  handleDatagram(now: number, pathId: number, bytes: Uint8Array): void {
    this.tap?.(pathId, bytes);
    const lent = this.arena.lend(bytes);
    this.session.handleDatagram(now, pathId, lent);
    this.arena.scribble(lent);
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
