import { describe, expect, it } from 'vitest';
import { Path } from '../../src/session/path.ts';
import { PATH_CONFIG as CONFIG, sentPacket } from '../support/pathParts.ts';

/** An up path with a steady 100 ms RTT (variance decayed to its floor) and packets in flight sent at `sentAt`. */
function busyPath(sentAt: number[]): Path {
  const p = new Path(0, CONFIG);
  p.state = 'up';
  for (let i = 0; i < 100; i++) p.rtt.update(100, 0);
  sentAt.forEach((t, pn) => p.history.add(sentPacket(pn, t)));
  p.elicitingInFlight = sentAt.length;
  p.lastElicitingSentAt = sentAt[sentAt.length - 1] ?? -Infinity;
  return p;
}

describe('Path', () => {
  it('counts as silent once its oldest packet is overdue and nothing came back for max(100 ms, 4 RTT deviations + RTT/4)', () => {
    const p = busyPath([1000, 1010]);
    // Overdue at 1000 + 100 (smoothed RTT) + 5 (ACK delay); the margin is max(100, ~0 + 25).
    expect(p.silenceDeadline()).toBeCloseTo(1205, 0);
    p.lastReceivedAt = 1300;
    expect(p.silenceDeadline()).toBeCloseTo(1400, 0);
    p.lastAckProgressAt = 1350;
    expect(p.silenceDeadline()).toBeCloseTo(1450, 0);
  });

  it('is never silent while idle or not up', () => {
    expect(busyPath([]).silenceDeadline()).toBe(Infinity);
    const down = busyPath([1000]);
    down.state = 'down';
    expect(down.silenceDeadline()).toBe(Infinity);
  });

  it('after an unanswered probe timeout, pings every quarter RTT (5-25 ms) instead of backing off', () => {
    const p = busyPath([1000]);
    expect(p.ptoDeadline()).toBe(1000 + p.rtt.pto(CONFIG.maxAckDelayMs));
    p.unansweredPtos = 1;
    expect(p.ptoDeadline()).toBe(1000 + 25);
    p.unansweredPtos = 20;
    expect(p.ptoDeadline()).toBe(1000 + 25);
    for (let i = 0; i < 50; i++) p.rtt.update(40, 0);
    expect(p.ptoDeadline()).toBeCloseTo(1000 + 10, 0);
    for (let i = 0; i < 50; i++) p.rtt.update(2, 0);
    expect(p.ptoDeadline()).toBeCloseTo(1000 + 5, 0);
    p.elicitingInFlight = 0;
    expect(p.ptoDeadline()).toBe(Infinity);
  });

  it('declares loss after 9/8 RTT plus the reordering window learnt from spurious losses', () => {
    const p = busyPath([]);
    expect(p.lossDelay()).toBe(112.5);
    p.reorderWindow.onLost(7);
    p.reorderWindow.onAck([[7, 7]], p.rtt.smoothed, false);
    expect(p.lossDelay()).toBe(112.5 + 25);
  });

  it('raises its packet threshold to the reordering the peer reports, and lets it fade slowly', () => {
    const p = new Path(0, CONFIG);
    expect(p.packetThreshold).toBe(3);
    p.onReorderReport(40);
    expect(p.reorderDistance).toBe(40);
    expect(p.packetThreshold).toBe(41);
    p.onReorderReport(0);
    expect(p.packetThreshold).toBe(37);
    for (let i = 0; i < 50; i++) p.onReorderReport(0);
    expect(p.reorderDistance).toBe(0);
    expect(p.packetThreshold).toBe(3);
  });

  it('recognises the late original of a restored packet once, and nothing else', () => {
    const p = new Path(0, CONFIG);
    p.noteRestored(12);
    expect(p.takeRestored(13)).toBe(false);
    expect(p.takeRestored(12)).toBe(true);
    expect(p.takeRestored(12), 'a second copy is a replay').toBe(false);
    for (let pn = 100; pn < 100 + 256; pn++) p.noteRestored(pn);
    p.noteRestored(1000);
    expect(p.takeRestored(100), 'the oldest of 256 is forgotten').toBe(false);
    expect(p.takeRestored(101)).toBe(true);
  });

  it('has window room while a full packet still fits under the congestion window', () => {
    const p = new Path(0, CONFIG);
    p.bytesInFlight = p.cc.cwnd - CONFIG.mtu;
    expect(p.hasCwndRoom).toBe(true);
    p.bytesInFlight += 1;
    expect(p.hasCwndRoom).toBe(false);
  });

  it('carries traffic only when up, and sends its ACKs elsewhere while down', () => {
    const p = new Path(0, CONFIG);
    expect([p.isUp, p.acksElsewhere]).toEqual([false, false]);
    p.state = 'up';
    expect([p.isUp, p.acksElsewhere]).toEqual([true, false]);
    p.state = 'down';
    expect([p.isUp, p.acksElsewhere]).toEqual([false, true]);
  });
});
