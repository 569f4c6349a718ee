/**
 * Path migration under attack, on the simulator (RFC 9000 §8-9): an observer copies every packet
 * the dialer sends and races the copy to the listener from its own address, ahead of the
 * original, while also sending garbage, bit-flipped and late copies. None of it may draw a byte
 * of the listener's traffic, slow the transfer or corrupt it; a real NAT rebinding still moves
 * the path.
 */
import { describe, expect, it } from 'vitest';
import type { PeerAddress } from '../../src/session/pathValidation.ts';
import { SeededRng } from '../../src/session/rng.ts';
import { transPacific } from '../../src/sim/network.ts';
import { PacketType } from '../../src/wire/packet.ts';
import { simPair, Transfers } from './simPair.ts';

const PSK = new Uint8Array(32).fill(0x5a);
const SEED = 1409;
const DOWN_BYTES = 6_000_000;
const ATTACKER: PeerAddress = { address: '203.0.113.66', port: 40_000 };
/** How much sooner than the original a raced copy lands (the path is 90 ms one-way). */
const RACE_LEAD_MS = 40;

interface Run {
  finishedAt: number;
  problem: string | null;
  bytesVerified: number;
  /** Datagrams and bytes the listener sent to the attacker's address. */
  toAttacker: { packets: number; bytes: number };
  injected: number;
  /** When the listener's path 0 first sent to the dialer's rebound address (rebinding run). */
  movedAt: number | null;
  firstFromNewAt: number | null;
}

/** `raceFrom`: the observer races copies of what the dialer sends from then on. */
function run(opts: { raceFrom?: number; rebindAt?: number } = {}): Run {
  const pair = simPair({ psk: PSK, seed: SEED, paths: [transPacific({ lossRate: 0.03, rateMbps: 40 })] });
  const { net, dialer, dialerSide, listenerSide } = pair;
  const home: PeerAddress = { address: '198.51.100.7', port: 50_000 };
  const rebound: PeerAddress = { address: home.address, port: 50_001 };
  listenerSide.dialerAddress[0] = home;
  const result: Run = {
    finishedAt: 0,
    problem: null,
    bytesVerified: 0,
    toAttacker: { packets: 0, bytes: 0 },
    injected: 0,
    movedAt: null,
    firstFromNewAt: null,
  };
  listenerSide.elsewhere = (to, _pathId, bytes) => {
    if (to !== ATTACKER) return;
    result.toAttacker.packets++;
    result.toAttacker.bytes += bytes.length;
  };
  const rng = new SeededRng(SEED);
  const inject = (at: number, bytes: Uint8Array): void => {
    net.at(at, (now) => {
      result.injected++;
      listenerSide.deliver(now, 0, bytes, ATTACKER);
    });
  };
  if (opts.raceFrom !== undefined) {
    const raceFrom = opts.raceFrom;
    const poll = dialerSide.pollTransmit.bind(dialerSide);
    dialerSide.pollTransmit = (now: number) => {
      const t = poll(now);
      if (t !== null && t.bytes[0] === PacketType.Data && now >= raceFrom) {
        const copy = Uint8Array.from(t.bytes);
        // Raced ahead of the original, and replayed again after it.
        inject(now + RACE_LEAD_MS, copy);
        if (rng.next() < 0.2) inject(now + 90 + rng.next() * 500, copy);
        if (rng.next() < 0.2) {
          const flipped = Uint8Array.from(copy);
          flipped[rng.nextU32() % flipped.length] ^= 1 << (rng.nextU32() % 8);
          inject(now + RACE_LEAD_MS, flipped);
        }
        if (rng.next() < 0.1) {
          const garbage = new Uint8Array(20 + (rng.nextU32() % 1300));
          rng.fill(garbage);
          inject(now + RACE_LEAD_MS, garbage);
        }
      }
      return t;
    };
  }
  if (opts.rebindAt !== undefined) {
    net.at(opts.rebindAt, () => {
      listenerSide.dialerAddress[0] = rebound;
    });
  }
  const transfers = new Transfers(() => dialer, () => listenerSide.sessions[0], {
    upBytes: () => 1000,
    downBytes: () => DOWN_BYTES,
    concurrent: 1,
  });
  net.onStep((now) => {
    transfers.pump();
    if (transfers.opened >= 1) transfers.more = false;
    const server = listenerSide.sessions[0];
    if (result.movedAt === null && server !== undefined && server.pathAddress(0) === rebound && server.stats().paths[0].addressMoves > 0) {
      result.movedAt = now;
    }
  });
  if (opts.rebindAt !== undefined) {
    const deliver = listenerSide.handleDatagram.bind(listenerSide);
    listenerSide.handleDatagram = (now, pathId, bytes) => {
      if (listenerSide.dialerAddress[pathId] === rebound) result.firstFromNewAt ??= now;
      deliver(now, pathId, bytes);
    };
  }
  net.runUntil(60_000, () => (transfers.opened >= 1 && transfers.active === 0) || transfers.problem !== null);
  result.finishedAt = net.now;
  result.problem = transfers.problem;
  result.bytesVerified = transfers.bytesVerified;
  return result;
}

describe('path migration', () => {
  const clean = run();

  it('carries the clean transfer intact', () => {
    expect(clean.problem).toBeNull();
    expect(clean.bytesVerified).toBe(DOWN_BYTES + 1000);
  });

  it('sends nothing to an observer racing copies of the dialer packets from its own address', () => {
    const r = run({ raceFrom: 500 });
    expect(r.problem).toBeNull();
    expect(r.bytesVerified).toBe(clean.bytesVerified);
    // Thousands of raced copies, each authentic and newer than anything before on the path.
    expect(r.injected).toBeGreaterThan(2000);
    expect(r.toAttacker).toEqual({ packets: 0, bytes: 0 });
    // Goodput at least 90% of the clean run's.
    expect(clean.finishedAt / r.finishedAt).toBeGreaterThanOrEqual(0.9);
  });

  it('recovers the path from an observer who raced its very first packet', () => {
    const r = run({ raceFrom: 0 });
    expect(r.problem).toBeNull();
    expect(r.bytesVerified).toBe(clean.bytesVerified);
    // The copy was the path's first packet from an address the handshake did not come from: it
    // is only challenged (within 3x what it sent), and the original from the handshake's address wins.
    expect(r.toAttacker.bytes).toBeLessThan(3 * 1350);
    expect(r.finishedAt).toBeLessThan(clean.finishedAt + 2000);
  });

  it('follows a NAT rebinding within about one round trip of the first packet from the new port', () => {
    const r = run({ rebindAt: 1500 });
    expect(r.problem).toBeNull();
    expect(r.bytesVerified).toBe(clean.bytesVerified);
    expect(r.firstFromNewAt).not.toBeNull();
    expect(r.movedAt).not.toBeNull();
    // Quiet spell (RTT/4) plus the challenge's round trip (180 ms) and some queueing.
    expect(r.movedAt! - r.firstFromNewAt!).toBeLessThan(1.5 * 180);
    expect(r.movedAt! - r.firstFromNewAt!).toBeGreaterThanOrEqual(180);
  });
});
