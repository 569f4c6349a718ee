/**
 * Replay and injection during a live transfer, on the simulator: an on-path attacker re-sends
 * captured packets (later, and on the other path); an off-path attacker who knows the port and
 * both session ids, but not the keys, forges data packets and handshakes. Neither may corrupt,
 * reset or stall the transfer, and every replay is refused and counted.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/base/rng.ts';
import type { PathSpec } from '../../src/sim/network.ts';
import { symmetric } from '../../src/sim/network.ts';
import { HandshakeInitiator } from '../../src/wire/handshake.ts';
import { DATA_HEADER_LEN, PacketType, packetType } from '../../src/wire/packet.ts';
import type { Listener } from '../../src/session/listener.ts';
import type { Session } from '../../src/session/session.ts';
import { simPair, Transfers, WALL_EPOCH, type Captured } from './simPair.ts';

const PSK = new Uint8Array(32).fill(0x42);
const SEED = 8080;
/** Two unequal trans-Pacific-like paths with loss, so FEC, retransmissions and failover all run. */
const PATHS: PathSpec[] = [
  symmetric({ delayMs: 90, rateMbps: 20, queueMs: 60, lossRate: 0.02 }),
  symmetric({ delayMs: 70, rateMbps: 10, queueMs: 60, lossRate: 0.01 }),
];
const STREAMS = 6;

interface Run {
  finishedAt: number;
  problem: string | null;
  completed: number;
  bytesVerified: number;
  listenerStats: ReturnType<typeof simPair>['listener']['stats'];
  sessions: number;
  /** Injected datagrams that were not refused (must be none). */
  accepted: number;
  injected: number;
  /** Injected datagrams by what they were: Data to either end, handshake inits. */
  injectedData: { toListener: number; toDialer: number };
  injectedInits: number;
  /**
   * Refused injected datagrams that no counter took note of: each Data packet must add one to
   * its session's drops (and, at the listener, to the listener's refusals), each init one to the
   * listener's replays. Handshake responses to the connected dialer are left out: the core ignores
   * those without a count.
   */
  uncounted: number;
}

/** Packets a session refused: failed authentication, replays, duplicates. */
function refusedBy(s: Session): number {
  const st = s.stats();
  return st.packetsDropped + st.duplicatePackets;
}

/** Datagrams the listener refused, by any counter. */
function refusedByListener(l: Listener): number {
  const st = l.stats;
  return st.authFailures + st.unknownSessionPackets + st.duplicates + st.replays + st.handshakeCopies + st.sessionsRefused + st.handshakesRateLimited;
}

/**
 * One transfer of {@link STREAMS} streams each way. `attack` gets the pair and an `inject`
 * function that delivers a datagram to one end at a later time, as a second sender would.
 */
function run(attack?: (ctx: { pair: ReturnType<typeof simPair>; captured: Captured[]; inject: (at: number, c: Captured) => void }) => void): Run {
  const captured: Captured[] = [];
  const pair = simPair({ psk: PSK, seed: SEED, paths: PATHS, record: (c) => captured.push(c) });
  const { net, dialer, listener, listenerSide } = pair;
  const transfers = new Transfers(() => dialer, () => listenerSide.peerOf(dialer), {
    upBytes: (n) => 3_000_000 + n * 33_333,
    downBytes: (id) => 1_000_000 + id * 11_111,
    concurrent: 3,
  });
  const result = { accepted: 0, injected: 0, injectedData: { toListener: 0, toDialer: 0 }, injectedInits: 0, uncounted: 0 };
  const inject = (at: number, c: Captured): void => {
    net.at(at, (now) => {
      result.injected++;
      const type = packetType(c.bytes);
      if (type === PacketType.Data) result.injectedData[c.toListener ? 'toListener' : 'toDialer']++;
      if (type === PacketType.HandshakeInit) result.injectedInits++;
      const server = listenerSide.peerOf(dialer);
      const before = { listener: refusedByListener(listener), server: server === undefined ? 0 : refusedBy(server), dialer: refusedBy(dialer) };
      // Each injection in a buffer of its own, as from a socket: a receiver opens it in place.
      const bytes = Uint8Array.from(c.bytes);
      const ok = c.toListener ? listener.handleDatagram(now, WALL_EPOCH + now, bytes).kind !== 'drop' : dialer.handleDatagram(now, c.pathId, bytes) === 'accepted';
      if (ok) {
        result.accepted++;
        return;
      }
      const counted = c.toListener
        ? refusedByListener(listener) === before.listener + 1 && (type !== PacketType.Data || (server !== undefined && refusedBy(server) === before.server + 1))
        : type === PacketType.HandshakeResponse || refusedBy(dialer) === before.dialer + 1;
      if (!counted) result.uncounted++;
    });
  };
  net.onStep(() => {
    transfers.pump();
    if (transfers.opened >= STREAMS) transfers.more = false;
  });
  attack?.({ pair, captured, inject });
  net.runUntil(120_000, () => (transfers.opened >= STREAMS && transfers.active === 0) || transfers.problem !== null);
  return {
    finishedAt: net.now,
    problem: transfers.problem,
    completed: transfers.completed,
    bytesVerified: transfers.bytesVerified,
    listenerStats: { ...listener.stats },
    sessions: listener.sessionCount,
    ...result,
  };
}

describe('replay and injection during a live transfer', () => {
  const baseline = run();

  it('carries the baseline transfer intact', () => {
    expect(baseline.problem).toBeNull();
    expect(baseline.completed).toBe(STREAMS);
  });

  it('refuses and counts every captured packet replayed later, on its own path or the other', () => {
    const rng = new SeededRng(SEED);
    const r = run(({ pair, captured, inject }) => {
      // Every 10 ms, replay a dozen datagrams captured so far: recent ones (still inside the
      // replay window) and old ones, 0-3 s after they first arrived, half of them on the other path.
      pair.net.every(10, (now) => {
        for (let i = 0; i < 12 && captured.length > 0; i++) {
          const recent = rng.next() < 0.7;
          const at = recent ? captured.length - 1 - (rng.nextU32() % Math.min(200, captured.length)) : rng.nextU32() % captured.length;
          const c = captured[at];
          inject(now + rng.next() * 3000, { ...c, pathId: rng.next() < 0.5 ? c.pathId : 1 - c.pathId });
        }
        if (now >= 60_000) return false;
      });
    });
    expect(r.problem).toBeNull();
    expect(r.completed).toBe(STREAMS);
    expect(r.bytesVerified).toBe(baseline.bytesVerified);
    // At least 500 replays per simulated second of the transfer.
    expect(r.injected).toBeGreaterThan(baseline.finishedAt / 2);
    expect(r.accepted).toBe(0);
    // Counted: each replayed Data packet is one more drop at the session it was meant for (and,
    // at the listener, one more refused datagram); each replayed handshake init one more copy of
    // the live session's init (it looks exactly like the dialer's copy on its other path).
    expect(r.uncounted).toBe(0);
    const initsRefused = (st: Run['listenerStats']) => st.replays + st.handshakeCopies;
    expect(initsRefused(r.listenerStats) - initsRefused(baseline.listenerStats)).toBe(r.injectedInits);
    expect(r.injectedData.toListener).toBeGreaterThan(1000);
    expect(r.injectedData.toDialer).toBeGreaterThan(1000);
    expect(r.sessions).toBe(1);
    expect(r.listenerStats.handshakes).toBe(1);
    // Refused replays change nothing: the transfer takes as long as without them.
    expect(Math.abs(r.finishedAt - baseline.finishedAt)).toBeLessThan(baseline.finishedAt * 0.02);
  });

  it('shrugs off an off-path attacker who knows both session ids but not the keys', () => {
    const rng = new SeededRng(SEED ^ 1);
    const r = run(({ pair, captured, inject }) => {
      const forgeData = (sessionId: number, toListener: boolean, pathId: number): Captured => {
        const b = new Uint8Array(DATA_HEADER_LEN + 16 + (rng.nextU32() % 1200));
        rng.fill(b);
        b[0] = PacketType.Data;
        b[1] = pathId;
        b.set([sessionId >>> 24, (sessionId >>> 16) & 0xff, (sessionId >>> 8) & 0xff, sessionId & 0xff], 2);
        // Packet numbers just ahead of the real ones and at the top of the space: a receiver that
        // moved its replay window for them would then refuse the genuine packets.
        if (rng.next() < 0.5) b.fill(0xff, 6, 12);
        return { toListener, pathId, bytes: b };
      };
      pair.net.every(10, (now) => {
        const server = pair.listenerSide.peerOf(pair.dialer);
        if (server === undefined) return undefined;
        const pathId = rng.nextU32() % 2;
        // 2,000 forged datagrams per simulated second: data to both ends, handshake inits
        // (another key) to the listener, the captured init replayed, responses to the dialer.
        for (let i = 0; i < 5; i++) inject(now, forgeData(server.id, true, pathId));
        for (let i = 0; i < 5; i++) inject(now, forgeData(pair.dialer.id, false, pathId));
        inject(now, { toListener: true, pathId, bytes: new HandshakeInitiator(new Uint8Array(32).fill(9), rng.nextU32(), rng, WALL_EPOCH + now).packet });
        const init = captured.find((c) => c.bytes[0] === PacketType.HandshakeInit);
        if (init !== undefined) inject(now, init);
        const response = captured.find((c) => c.bytes[0] === PacketType.HandshakeResponse);
        if (response !== undefined) {
          const forged = Uint8Array.from(response.bytes);
          forged[20 + (rng.nextU32() % 30)] ^= 1;
          inject(now, { ...response, bytes: forged });
          inject(now, response);
        }
        while (rng.next() < 0.5) inject(now, forgeData(rng.nextU32(), rng.next() < 0.5, pathId));
        if (now >= 60_000) return false;
      });
    });
    expect(r.problem).toBeNull();
    expect(r.completed).toBe(STREAMS);
    // Over 1,000 forged datagrams per simulated second of the transfer.
    expect(r.injected).toBeGreaterThan(baseline.finishedAt);
    expect(r.accepted).toBe(0);
    expect(r.sessions).toBe(1);
    expect(r.listenerStats.handshakes).toBe(1);
    expect(r.listenerStats.handshakeCopies).toBeGreaterThan(baseline.finishedAt / 20);
    expect(r.listenerStats.handshakeAuthFailures).toBeGreaterThan(baseline.finishedAt / 20);
    // Not stalled: forged packets change no state, so the transfer takes about as long as without
    // them. Not to the millisecond: the simulator polls both ends after every injected datagram,
    // which moves pacing and repair timing by microseconds, and the first round's overflow of
    // the 10 and 20 Mbit/s queues makes the recovery after it sensitive to that (a few percent).
    expect(Math.abs(r.finishedAt - baseline.finishedAt)).toBeLessThan(baseline.finishedAt * 0.05);
  });
});
