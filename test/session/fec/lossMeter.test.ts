import { describe, expect, it } from 'vitest';
import { LOSS_PRIOR, LossEstimate, LossMeter } from '../../../src/session/fec/lossMeter.ts';

describe('LossMeter', () => {
  it('counts the packet numbers that never arrived, and in how many runs', () => {
    const m = new LossMeter();
    expect(m.hasNews).toBe(false);
    for (const pn of [0, 1, 2, 6, 7, 9, 10]) m.onPacket(pn);
    expect([m.received, m.lost, m.bursts]).toEqual([7, 4, 2]);
    expect(m.hasNews).toBe(true);
  });

  it('takes back a loss when the packet arrives late, and records how far behind it was', () => {
    const m = new LossMeter();
    for (const pn of [0, 1, 4, 5, 2]) m.onPacket(pn);
    expect([m.received, m.lost, m.reorder]).toEqual([5, 1, 3]);
  });

  it('starts each report interval from zero but remembers the highest number', () => {
    const m = new LossMeter();
    for (const pn of [0, 1, 3]) m.onPacket(pn);
    m.reset();
    expect(m.hasNews).toBe(false);
    m.onPacket(5);
    expect([m.received, m.lost, m.bursts]).toEqual([1, 1, 1]);
  });
});

describe('LossEstimate', () => {
  it('starts from the prior of a lossy long-haul path, not from zero', () => {
    const e = new LossEstimate();
    expect(e.lossRate).toBe(LOSS_PRIOR.lossRate);
    expect(e.meanBurst).toBe(LOSS_PRIOR.meanBurst);
    expect(e.settled).toBe(false);
  });

  it('moves toward the reports weighted by their packets, the prior counting as 1,000, and settles after ~5,000 packets', () => {
    const e = new LossEstimate();
    e.onReport(950, 50, 10);
    expect(e.lossRate).toBeCloseTo(0.02 + (1000 / 2000) * (0.05 - 0.02), 10);
    expect(e.meanBurst).toBeCloseTo(4 + (1000 / 2000) * (5 - 4), 10);
    for (let i = 0; i < 20; i++) e.onReport(950, 50, 10);
    expect(e.settled).toBe(true);
    expect(e.lossRate).toBeCloseTo(0.05, 2);
    expect(e.meanBurst).toBeCloseTo(5, 1);
  });

  it('lets a clean path turn the latency lane off within ~15,000 packets (a 60 Mbit/s stream\'s first 3 s)', () => {
    const e = new LossEstimate();
    let packets = 0;
    while (e.lossRate >= 0.001) {
      e.onReport(500, 0, 0);
      packets += 500;
    }
    expect(packets).toBeLessThanOrEqual(15_000);
    expect(e.settled).toBe(true);
  });

  it('ignores empty reports, and keeps the burst length when nothing was lost', () => {
    const e = new LossEstimate();
    e.onReport(0, 0, 0);
    expect(e.packets).toBe(0);
    e.onReport(5000, 0, 0);
    expect(e.lossRate).toBeCloseTo(0.02 / 6, 10);
    expect(e.meanBurst).toBe(LOSS_PRIOR.meanBurst);
  });
});
