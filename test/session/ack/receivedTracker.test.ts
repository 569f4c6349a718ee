import { describe, expect, it } from 'vitest';
import { ReceivedTracker } from '../../../src/session/ack/receivedTracker.ts';

const ACK_EVERY = 10;
const MAX_ACK_DELAY = 5;

/** Feeds packets `from`..`to` (exclusive) at `now`, ack-eliciting. */
function receive(t: ReceivedTracker, now: number, from: number, to: number): void {
  for (let pn = from; pn < to; pn++) expect(t.onPacket(now, pn, true)).toBe(true);
}

describe('ReceivedTracker', () => {
  it('acknowledges every second packet of the first 100, then every tenth', () => {
    const t = new ReceivedTracker(ACK_EVERY, MAX_ACK_DELAY);
    t.onPacket(0, 0, true);
    expect(t.ackDeadline).toBe(MAX_ACK_DELAY);
    t.onPacket(0, 1, true);
    expect(t.ackDeadline).toBe(0);
    t.onAckSent();
    receive(t, 1, 2, 100);
    t.onAckSent();
    receive(t, 2, 100, 109);
    expect(t.ackDeadline, 'nine packets past the eager start wait for the delay').toBe(2 + MAX_ACK_DELAY);
    t.onPacket(3, 109, true);
    expect(t.ackDeadline).toBe(3);
  });

  it('acknowledges every fourth packet while the path is lossy', () => {
    const t = new ReceivedTracker(ACK_EVERY, MAX_ACK_DELAY);
    receive(t, 0, 0, 100);
    t.onAckSent();
    t.setLossy(true);
    receive(t, 1, 100, 103);
    expect(t.ackDeadline).toBe(1 + MAX_ACK_DELAY);
    t.onPacket(1, 103, true);
    expect(t.ackDeadline).toBe(1);
  });

  it('acknowledges at once a packet that arrives out of order', () => {
    const t = new ReceivedTracker(ACK_EVERY, MAX_ACK_DELAY);
    receive(t, 0, 0, 100);
    t.onAckSent();
    t.onPacket(1, 101, true);
    expect(t.ackDeadline, 'a gap before 101').toBe(1);
    t.onAckSent();
    t.onPacket(2, 100, true);
    expect(t.ackDeadline, 'the gap filled late').toBe(2);
  });

  it('never owes an ACK for ACK-only packets, and reports duplicates', () => {
    const t = new ReceivedTracker(ACK_EVERY, MAX_ACK_DELAY);
    for (let pn = 0; pn < 50; pn++) t.onPacket(pn, pn, false);
    expect(t.ackDeadline).toBe(Infinity);
    expect(t.hasNewInfo).toBe(false);
    expect(t.onPacket(60, 7, true)).toBe(false);
    expect(t.ackDeadline).toBe(Infinity);
  });

  it('reports ranges highest first and the delay since the largest packet arrived', () => {
    const t = new ReceivedTracker(ACK_EVERY, MAX_ACK_DELAY);
    for (const pn of [0, 1, 2, 5, 6, 9]) t.onPacket(10, pn, true);
    t.onPacket(12, 4, true);
    expect(t.ranges([], 32)).toEqual([
      [9, 9],
      [4, 6],
      [0, 2],
    ]);
    expect(t.ranges([], 2)).toEqual([
      [9, 9],
      [4, 6],
    ]);
    expect(t.ackDelayMicros(13.5)).toBe(3500);
  });

  it('gives up the oldest holes beyond 256 ranges', () => {
    const t = new ReceivedTracker(ACK_EVERY, MAX_ACK_DELAY);
    for (let i = 0; i < 300; i++) t.onPacket(i, 2 * i, true);
    const ranges = t.ranges([], 1000);
    expect(ranges).toHaveLength(256);
    expect(ranges[0]).toEqual([598, 598]);
    expect(ranges[255]).toEqual([88, 88]);
  });
});
