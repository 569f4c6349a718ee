import { describe, expect, it } from 'vitest';
import { PATH_TIMER_COUNT, PathTimer, Timer, TIMER_COUNT, TimerTable } from '../../src/session/timers.ts';

describe('TimerTable', () => {
  it('starts with every slot stopped: no wake-up', () => {
    const t = new TimerTable(TIMER_COUNT);
    expect(t.next()).toBe(Infinity);
    for (let slot = 0; slot < TIMER_COUNT; slot++) expect(t.expired(slot, 1e12)).toBe(false);
  });

  it('wakes at the earliest armed slot, and a slot fires at its deadline, not before', () => {
    const t = new TimerTable(TIMER_COUNT);
    t.set(Timer.Idle, 8000);
    t.set(Timer.KeepAlive, 1000.25);
    t.set(Timer.Repair, 1500);
    expect(t.next()).toBe(1000.25);
    expect(t.expired(Timer.KeepAlive, 1000.2)).toBe(false);
    expect(t.expired(Timer.KeepAlive, 1000.25)).toBe(true);
    expect(t.expired(Timer.Idle, 1000.25)).toBe(false);
  });

  it('re-arming or stopping a slot moves the wake-up', () => {
    const t = new TimerTable(PATH_TIMER_COUNT);
    t.set(PathTimer.Pto, 300);
    t.set(PathTimer.Ack, 205);
    expect(t.next()).toBe(205);
    t.set(PathTimer.Ack, Infinity);
    expect(t.next()).toBe(300);
    t.set(PathTimer.Pto, 900);
    expect(t.expired(PathTimer.Pto, 899.5)).toBe(false);
    expect(t.expired(PathTimer.Pto, 900)).toBe(true);
    expect(t.next()).toBe(900);
    t.stopAll();
    expect(t.next()).toBe(Infinity);
  });

  it('keeps its slots apart: each enum names its own slot', () => {
    for (const [names, count] of [[Timer, TIMER_COUNT], [PathTimer, PATH_TIMER_COUNT]] as const) {
      const slots = Object.values(names).sort((a, b) => a - b);
      expect(slots).toEqual([...Array(count).keys()]);
      const t = new TimerTable(count);
      for (const slot of slots) t.set(slot, 100 + slot);
      for (const slot of slots) expect([t.expired(slot, 99.5 + slot), t.expired(slot, 100 + slot)]).toEqual([false, true]);
      expect(t.next()).toBe(100);
    }
  });

  it('wakes at the minimum of its slots through any sequence of arming, re-arming and stopping', () => {
    let state = 7;
    const random = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    const t = new TimerTable(PATH_TIMER_COUNT);
    const reference = new Array<number>(PATH_TIMER_COUNT).fill(Infinity);
    for (let step = 0; step < 20_000; step++) {
      const slot = random(PATH_TIMER_COUNT);
      const at = random(5) === 0 ? Infinity : random(1000);
      if (random(500) === 0) {
        t.stopAll();
        reference.fill(Infinity);
      } else {
        t.set(slot, at);
        reference[slot] = at;
      }
      expect(t.next()).toBe(Math.min(...reference));
    }
  });
});
