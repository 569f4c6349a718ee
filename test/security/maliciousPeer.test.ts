/**
 * A peer holding the key, driving each limit on the state it controls: stream-id leaps, tiny
 * out-of-order fragments (descending and ascending), and RESET_STREAM final sizes that disagree
 * with what arrived or what flow control allowed. Its packets are sealed with its own session's
 * keys, as a modified client would send them. Each attack must end with its session closed for a
 * stated reason, no more than the odd datagram (one a garbage collection lands on) costing the
 * listener over 50 ms of CPU, memory bounded, and an honest session on the same listener carrying
 * its transfer intact throughout.
 */
import { describe, expect, it } from 'vitest';
import { ATTACKS, attackRun, LONGEST_CALL_BOUND_MS, MAX_SLOW_CALLS, type Attack, type Outcome } from './maliciousPeer.ts';

/** The short suite: a 2 MB honest transfer beside each attack at its default size. */
const run = (attack: Attack): Outcome => attackRun(attack, { seed: 4242, honestBytes: 2_000_000 });

function expectCheapDatagrams(o: Outcome): void {
  expect(o.slowCalls).toBeLessThanOrEqual(MAX_SLOW_CALLS);
  expect(o.longestCallMs).toBeLessThan(LONGEST_CALL_BOUND_MS);
}

function expectContained(o: Outcome, reason: RegExp): void {
  expect(o.reason).toMatch(reason);
  expectCheapDatagrams(o);
  expect(o.heapGrowthMb).toBeLessThan(150);
  expect(o.honestProblem).toBeNull();
  expect(o.honestVerified).toBe(o.honestExpected);
}

describe('a key-holding peer against the limits', () => {
  it('stream-id leaps of 4096 ids: no stream object for skipped ids, closed at the cumulative limit', () => {
    const o = run(ATTACKS.leaps());
    expectContained(o, /beyond the peer's stream limit/);
    // The limit is maxStreams + 1024 numbers: leaps of 4096 reach it within the first frame or two.
    expect(o.maxStreams).toBeLessThanOrEqual(2);
    expect(o.packetsSent).toBeLessThan(4);
  });

  it('100,000 one-byte fragments in descending order: closed at the range cap (one per KiB of window), each datagram cheap', () => {
    const o = run(ATTACKS.descending());
    expectContained(o, /stream 0 holds too many pieces \(24577 in 24577 ranges\)/);
    expect(o.packetsSent).toBeLessThan(250);
  });

  it('one-byte fragments in order that nobody reads: merged into KiB pieces, so they cost what flow control allows', () => {
    const o = run(ATTACKS.ascending());
    // Nothing to close for: 300,000 fragments are ~300 pieces of 1 KiB.
    expect(o.reason).toBeNull();
    expect(o.packetsSent).toBeGreaterThan(1500);
    expectCheapDatagrams(o);
    expect(o.heapGrowthMb).toBeLessThan(50);
    expect(o.honestProblem).toBeNull();
    expect(o.honestVerified).toBe(o.honestExpected);
  });

  it('one-byte fragments with a gap after each, over eight streams: closed at the session piece limit', () => {
    const o = run(ATTACKS.gapped());
    expectContained(o, /received data held in too many small pieces \(131073 pieces/);
  });

  it('RESET_STREAM below the bytes received, or beyond the window: closed for a protocol or flow-control violation', () => {
    expectContained(run(ATTACKS.resetBelow()), /reset with final size 10, below/);
    expectContained(run(ATTACKS.resetBeyond()), /beyond its flow-control window/);
  });
});
