/**
 * Path migration under attack, on the simulator (RFC 9000 §8-9): an observer copies every packet
 * the dialer sends and races the copy to the listener from its own address, ahead of the
 * original, while also sending garbage, bit-flipped and late copies. Shared by the short test
 * (migration.test.ts) and the long run (bench/security.ts), which raises the seed count, the
 * transfer, the rate and the copies raced per packet.
 */
import type { PeerAddress } from '../../src/session/pathValidation.ts';
import { SeededRng } from '../../src/base/rng.ts';
import { transPacific } from '../../src/sim/network.ts';
import { PacketType, packetType } from '../../src/wire/packet.ts';
import { simPair, Transfers } from './simPair.ts';

const PSK = new Uint8Array(32).fill(0x5a);
const ATTACKER: PeerAddress = { address: '203.0.113.66', port: 40_000 };
/** How much sooner than the original a raced copy lands (the path is 90 ms one-way). */
const RACE_LEAD_MS = 40;
const UP_BYTES = 1000;

export interface RaceOptions {
  seed: number;
  /** Bytes the listener sends down; the dialer sends {@link UP_BYTES} up. */
  downBytes: number;
  rateMbps: number;
  lossRate: number;
  /** The observer races copies of what the dialer sends from then on. */
  raceFrom?: number;
  /** Copies raced ahead of each original, each from the attacker's address (1 in the test). */
  racedCopies?: number;
  /** When the dialer's NAT re-maps its port. */
  rebindAt?: number;
}

export interface RaceRun {
  finishedAt: number;
  problem: string | null;
  bytesVerified: number;
  /** What the transfer should have verified: both directions' bytes. */
  bytesExpected: number;
  /** Datagrams and bytes the listener sent to the attacker's address. */
  toAttacker: { packets: number; bytes: number };
  injected: number;
  /** When the listener's path 0 first sent to the dialer's rebound address (rebinding run). */
  movedAt: number | null;
  firstFromNewAt: number | null;
}

export function raceRun(opts: RaceOptions): RaceRun {
  const pair = simPair({ psk: PSK, seed: opts.seed, paths: [transPacific({ lossRate: opts.lossRate, rateMbps: opts.rateMbps })] });
  const { net, dialer, dialerSide, listenerSide } = pair;
  const home: PeerAddress = { address: '198.51.100.7', port: 50_000 };
  const rebound: PeerAddress = { address: home.address, port: 50_001 };
  listenerSide.dialerAddress[0] = home;
  const result: RaceRun = {
    finishedAt: 0,
    problem: null,
    bytesVerified: 0,
    bytesExpected: opts.downBytes + UP_BYTES,
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
  const rng = new SeededRng(opts.seed);
  const inject = (at: number, bytes: Uint8Array): void => {
    net.at(at, (now) => {
      result.injected++;
      // A buffer of its own per injection, as from a socket: the receiver opens it in place.
      listenerSide.deliver(now, 0, Uint8Array.from(bytes), ATTACKER);
    });
  };
  if (opts.raceFrom !== undefined) {
    const raceFrom = opts.raceFrom;
    const racedCopies = opts.racedCopies ?? 1;
    const poll = dialerSide.pollTransmit.bind(dialerSide);
    dialerSide.pollTransmit = (now: number) => {
      const t = poll(now);
      if (t !== null && packetType(t.bytes) === PacketType.Data && now >= raceFrom) {
        const copy = Uint8Array.from(t.bytes);
        // Raced ahead of the original, and replayed again after it.
        for (let c = 0; c < racedCopies; c++) inject(now + RACE_LEAD_MS * (1 - c / racedCopies), copy);
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
  const transfers = new Transfers(() => dialer, () => listenerSide.peerOf(dialer), {
    upBytes: () => UP_BYTES,
    downBytes: () => opts.downBytes,
    concurrent: 1,
  });
  net.onStep((now) => {
    transfers.pump();
    if (transfers.opened >= 1) transfers.more = false;
    const server = listenerSide.peerOf(dialer);
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
