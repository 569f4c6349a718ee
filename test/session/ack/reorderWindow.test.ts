import { describe, expect, it } from 'vitest';
import { ReorderWindow } from '../../../src/session/ack/reorderWindow.ts';

describe('ReorderWindow', () => {
  it('stays closed while declared losses are never acknowledged', () => {
    const w = new ReorderWindow();
    for (let pn = 0; pn < 10; pn++) w.onLost(pn * 3);
    w.onAck([[100, 200]], 20, false);
    expect(w.extraMs).toBe(0);
    expect(w.spurious).toBe(0);
  });

  it('widens by a quarter RTT for each loss an ACK proves spurious, at most two RTTs on a long path', () => {
    const w = new ReorderWindow();
    w.onLost(5);
    w.onLost(9);
    w.onAck([[8, 12], [1, 5]], 40, false);
    expect(w.spurious).toBe(2);
    expect(w.extraMs).toBe(20);
    w.onAck([[8, 12], [1, 5]], 40, false);
    expect(w.spurious).toBe(2);
    for (let pn = 20; pn < 40; pn++) w.onLost(pn);
    w.onAck([[20, 40]], 40, false);
    expect(w.extraMs).toBe(80);
  });

  it('on a short path that the peer says reorders, widens up to 50 ms all the same: jitter may dwarf such an RTT', () => {
    const widened = (reordering: boolean): number => {
      const w = new ReorderWindow();
      for (let pn = 0; pn < 100; pn++) w.onLost(pn);
      w.onAck([[0, 100]], 4, reordering);
      return w.extraMs;
    };
    expect(widened(true)).toBe(50);
    // Without reordering a spurious loss is a delay spike: two RTTs still bound the wait.
    expect(widened(false)).toBe(8);
  });

  it('shrinks back after quiet reports, not while losses keep proving spurious', () => {
    const w = new ReorderWindow();
    w.onLost(1);
    w.onAck([[1, 1]], 40, false);
    w.onReport();
    expect(w.extraMs).toBe(10);
    for (let i = 0; i < 30; i++) w.onReport();
    expect(w.extraMs).toBeLessThan(0.5);
  });
});
