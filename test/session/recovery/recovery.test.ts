import { describe, expect, it } from 'vitest';
import type { SentPacket } from '../../../src/session/ack/sentPacket.ts';
import type { SendGroup } from '../../../src/session/fec/encoder.ts';
import { Path } from '../../../src/session/path.ts';
import { AckOutcome, Recovery, type FrameFate } from '../../../src/session/recovery/recovery.ts';

const MTU = 1350;
const MAX_ACK_DELAY = 5;

/** A path of 100 ms initial RTT, its recovery, and a record of what became of each packet. */
function setUp() {
  const path = new Path(0, {
    mtu: MTU,
    initialRttMs: 100,
    maxAckDelayMs: MAX_ACK_DELAY,
    ackEveryPackets: 2,
    initialCwndPackets: 256,
    initialRate: 0,
    maxRate: Infinity,
    backup: false,
  });
  const acked: number[] = [];
  const lost: number[] = [];
  const fate: FrameFate = {
    framesAcked: (p) => acked.push(p.pn),
    framesLost: (p) => lost.push(p.pn),
  };
  const recovery = new Recovery(fate, MAX_ACK_DELAY);
  /** Sends one 1000-byte packet carrying one stream frame at `now`. */
  const send = (now: number, fecGroup: SendGroup | null = null): SentPacket => {
    const packet: SentPacket = {
      pn: path.nextPn++,
      timeSent: now,
      size: 1000,
      ackEliciting: true,
      frames: [{ kind: 'stream', streamId: 0, offset: 0, length: 900, fin: false }],
      delivered: 0,
      deliveredTime: 0,
      firstSentTime: 0,
      isAppLimited: false,
      fecGroup,
    };
    recovery.onPacketSent(now, path, packet);
    return packet;
  };
  return { path, recovery, acked, lost, send };
}

describe('Recovery', () => {
  it('acknowledges exactly the packets in the ranges and takes them out of flight', () => {
    const { path, recovery, acked, lost, send } = setUp();
    for (let i = 0; i < 6; i++) send(i);
    expect(path.bytesInFlight).toBe(6000);
    expect(recovery.onAck(60, path, [[5, 5], [1, 2]], 0, true)).toBe(AckOutcome.Progress);
    expect(acked).toEqual([1, 2, 5]);
    // 0 is 5 below the largest acknowledged: lost by the packet threshold (3); 3 and 4 wait.
    expect(lost).toEqual([0]);
    expect(path.bytesInFlight).toBe(2000);
    expect(path.elicitingInFlight).toBe(2);
    expect(path.largestAcked).toBe(5);
    expect(path.counters).toMatchObject({ packetsAcked: 3, packetsLost: 1, retransmittedFrames: 1 });
  });

  it('samples the RTT from the largest packet, only when the ACK came back on the path itself', () => {
    const own = setUp();
    own.send(0);
    own.recovery.onAck(40, own.path, [[0, 0]], 2000, true);
    expect(own.path.rtt.latest).toBe(40);
    expect(own.path.rtt.smoothed).toBe(40);

    const other = setUp();
    other.send(0);
    expect(other.recovery.onAck(40, other.path, [[0, 0]], 0, false)).toBe(AckOutcome.Progress);
    expect(other.acked).toEqual([0]);
    expect(other.path.rtt.smoothed).toBe(100);
  });

  it('refuses an ACK of a packet never sent, and a repeated ACK is no progress', () => {
    const { path, recovery, acked, send } = setUp();
    send(0);
    send(1);
    expect(recovery.onAck(30, path, [[2, 2]], 0, true)).toBe(AckOutcome.Invalid);
    expect(acked).toEqual([]);
    expect(path.bytesInFlight).toBe(2000);
    expect(recovery.onAck(30, path, [[1, 1]], 0, true)).toBe(AckOutcome.Progress);
    expect(recovery.onAck(31, path, [[1, 1]], 0, true)).toBe(AckOutcome.NoProgress);
    expect(acked).toEqual([1]);
  });

  it('arms the time threshold for a packet below the largest, and declares it lost when it passes', () => {
    const { path, recovery, lost, send } = setUp();
    send(20);
    send(21);
    recovery.onAck(61, path, [[1, 1]], 0, true);
    expect(lost).toEqual([]);
    // 9/8 of the 40 ms sample after it left.
    expect(path.lossTime).toBe(65);
    expect(recovery.detectLosses(path, 64.9)).toBe(0);
    expect(recovery.detectLosses(path, 65)).toBe(1000);
    expect(lost).toEqual([0]);
    expect(path.lossTime).toBe(Infinity);
  });

  it('holds a protected packet until its group had its chance, then declares it lost', () => {
    const { path, recovery, lost, send } = setUp();
    const group = { releasePn: null, holdMs: 30 } as unknown as SendGroup;
    send(0, group);
    for (let i = 1; i <= 5; i++) send(i);
    recovery.onAck(40, path, [[1, 5]], 0, true);
    // Past the packet threshold, but the group has not sent its repairs: wait for them.
    expect(lost).toEqual([]);
    // The 35 ms sample's time threshold, the group's hold and the slack.
    expect(path.lossTime).toBe((9 / 8) * 35 + 30 + 5);
    group.releasePn = [6];
    send(41);
    recovery.onAck(90, path, [[6, 6]], 0, true);
    expect(lost).toEqual([0]);
  });

  it('a probe timeout re-sends the oldest packet and owes two probes; unanswered, it owes pings, re-sending nothing', () => {
    const { path, recovery, lost, send } = setUp();
    send(0);
    send(1);
    const first = path.ptoDeadline();
    recovery.onProbeTimeout(path, first);
    expect(lost).toEqual([0]);
    expect(path.probesPending).toBe(2);
    expect(path.counters.ptoCount).toBe(1);
    // Still in flight: a probe re-sends frames, it does not declare the packet lost.
    expect(path.bytesInFlight).toBe(2000);
    path.probesPending = 0;
    const second = path.ptoDeadline();
    expect(second - first).toBeLessThanOrEqual(25);
    recovery.onProbeTimeout(path, second);
    expect(path.silencePingDue).toBe(true);
    expect(path.probesPending).toBe(0);
    expect(lost).toEqual([0]);
    expect(path.counters.ptoCount).toBe(1);
    recovery.onAck(second + 50, path, [[1, 1]], 0, true);
    expect(path.unansweredPtos).toBe(0);
    expect(path.ptoDeadline()).toBeGreaterThan(second + 25);
  });

  it('abandoning a path declares everything in flight lost at once', () => {
    const { path, recovery, lost, send } = setUp();
    for (let i = 0; i < 4; i++) send(i);
    recovery.abandon(path);
    expect(lost).toEqual([0, 1, 2, 3]);
    expect(path.bytesInFlight).toBe(0);
    expect(path.elicitingInFlight).toBe(0);
    expect(path.ptoDeadline()).toBe(Infinity);
  });
});
