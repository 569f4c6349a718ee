import { describe, expect, it } from 'vitest';
import { Pacer, PACER_BURST_MS } from '../../../src/session/cc/pacer.ts';

const MSS = 1000;
/** 1 MB/s: one full packet a millisecond. */
const RATE = 1000;

/** Sends full packets at `now` while the pacer lets them go; returns how many left. */
function burst(p: Pacer, now: number, rate = RATE): number {
  let sent = 0;
  while (p.canSend(now)) {
    p.onSend(now, MSS, rate);
    sent++;
  }
  return sent;
}

describe('Pacer', () => {
  it('spaces packets at the rate: each one moves the next release by its size over the rate', () => {
    const p = new Pacer(PACER_BURST_MS, 2 * MSS);
    burst(p, 0);
    const releases: number[] = [];
    for (let i = 0; i < 5; i++) {
      const at = p.releaseTime();
      releases.push(at);
      expect(p.canSend(at - 0.01)).toBe(false);
      expect(p.canSend(at)).toBe(true);
      p.onSend(at, MSS, RATE);
    }
    expect(releases.slice(1).map((t, i) => t - releases[i])).toEqual([1, 1, 1, 1]);
  });

  it('lets an idle sender start with a burst of its catch-up allowance, no more', () => {
    // 2 ms at 1 MB/s is two packets, plus the one that starts the schedule.
    expect(burst(new Pacer(PACER_BURST_MS, 2 * MSS), 0)).toBe(3);
    // At a low rate the allowance is at least two packets' worth of time (20 ms at 100 kB/s).
    expect(burst(new Pacer(PACER_BURST_MS, 2 * MSS), 0, 100)).toBe(3);
  });

  it('does not let an ordinary late wake-up dump what it owed', () => {
    const p = new Pacer(PACER_BURST_MS, 2 * MSS);
    burst(p, 0);
    // Woken 100 ms after the last release: 2 ms of catch-up, not 100 packets.
    expect(burst(p, 102)).toBe(3);
  });

  it('lets a sender its host woke late catch up on what it owed, then paces again', () => {
    const p = new Pacer(PACER_BURST_MS, 2 * MSS);
    burst(p, 0);
    for (let t = 1; t <= 50; t++) burst(p, t);
    // The host stalled for 50 ms: the 50 packets owed may leave at once.
    p.excuseLateness(100, 50);
    expect(burst(p, 100)).toBe(50);
    // Owed packets sent, the excuse is spent: the next late wake-up gets the ordinary allowance.
    expect(burst(p, 200)).toBe(3);
  });

  it('keeps an excuse over several turns until what was owed has left', () => {
    const p = new Pacer(PACER_BURST_MS, 2 * MSS);
    burst(p, 0);
    p.excuseLateness(60, 40);
    let sent = 0;
    for (let i = 0; i < 20; i++) {
      if (!p.canSend(60)) break;
      p.onSend(60, MSS, RATE);
      sent++;
    }
    expect(sent).toBe(20);
    expect(burst(p, 60.5)).toBe(21);
  });

  it('forgets its schedule on reset', () => {
    const p = new Pacer(PACER_BURST_MS, 2 * MSS);
    for (let i = 0; i < 10; i++) p.onSend(0, MSS, RATE);
    expect(p.canSend(0)).toBe(false);
    p.reset();
    expect(p.releaseTime()).toBe(-Infinity);
    expect(burst(p, 0)).toBe(3);
  });
});
