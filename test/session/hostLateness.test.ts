import { describe, expect, it } from 'vitest';
import { HostLateness } from '../../src/session/hostLateness.ts';

describe('HostLateness', () => {
  it('measures the first entry after a wake-up was asked for, once', () => {
    const h = new HostLateness();
    expect(h.entry(5)).toBe(0);
    h.asked(10);
    expect(h.entry(35)).toBe(25);
    // Later entries before the next ask are the same turn's work, not lateness.
    expect(h.entry(40)).toBe(0);
  });

  it('an entry before the wake-up (a datagram arrived early) is not late', () => {
    const h = new HostLateness();
    h.asked(100);
    expect(h.entry(60)).toBe(0);
  });

  it('a deadline already past when asked for counts from the last entry', () => {
    const h = new HostLateness();
    h.entry(50);
    h.asked(20);
    expect(h.entry(58)).toBe(8);
  });

  it('no timer asked for (Infinity): nothing is late', () => {
    const h = new HostLateness();
    h.asked(Infinity);
    expect(h.entry(1e6)).toBe(0);
  });
});
