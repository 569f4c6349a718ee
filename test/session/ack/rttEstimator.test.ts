import { describe, expect, it } from 'vitest';
import { RttEstimator } from '../../../src/session/ack/rttEstimator.ts';

describe('RttEstimator (RFC 9002 §5)', () => {
  it('takes the first sample whole, then smooths 1/8 and tracks the variation 1/4', () => {
    const r = new RttEstimator(333);
    expect(r.smoothed).toBe(333);
    expect(r.hasSample).toBe(false);
    r.update(100, 0);
    expect([r.latest, r.min, r.smoothed, r.variance]).toEqual([100, 100, 100, 50]);
    r.update(180, 0);
    expect(r.smoothed).toBe(110);
    expect(r.variance).toBe(0.75 * 50 + 0.25 * 80);
    expect(r.min).toBe(100);
  });

  it('subtracts the ACK delay only while that leaves the sample at or above min RTT', () => {
    const r = new RttEstimator(333);
    r.update(100, 0);
    r.update(140, 20);
    expect(r.smoothed).toBe(0.875 * 100 + 0.125 * 120);
    const before = r.smoothed;
    r.update(110, 20);
    expect(r.smoothed, 'the ACK delay would take 110 below min 100: ignored').toBe(0.875 * before + 0.125 * 110);
  });

  it('bases the probe timeout on smoothed + max(4 * variance, 1 ms) + the ACK delay', () => {
    const r = new RttEstimator(333);
    r.update(100, 0);
    expect(r.pto(25)).toBe(100 + 200 + 25);
    for (let i = 0; i < 200; i++) r.update(100, 0);
    expect(r.pto(25)).toBe(100 + 1 + 25);
  });

  it('forgets everything on reset', () => {
    const r = new RttEstimator(333);
    r.update(40, 0);
    r.reset();
    expect([r.smoothed, r.variance, r.min, r.hasSample]).toEqual([333, 166.5, Infinity, false]);
    r.update(200, 0);
    expect(r.min).toBe(200);
  });
});
