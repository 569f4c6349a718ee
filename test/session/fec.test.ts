import { describe, expect, it } from 'vitest';
import { transPacific } from '../../src/sim/network.ts';
import { runBulk } from '../support/bulk.ts';

const MiB = 1024 * 1024;
const STEADY_FROM_MS = 4000;
/**
 * The mean over three seeds of about six seconds of steady state each: a failed bulk group or
 * one probe into a full queue costs a dozen to a few hundred retransmitted packets at once, so
 * one short run counts too few such events to tell 10x from 7x (at bursty loss single seeds
 * measured 6x to 28x).
 */
const BYTES = 100 * MiB;
const SEEDS = [77, 78, 79];

/**
 * Adaptive FEC against ARQ alone on the trans-Pacific reference path: once the loss is measured,
 * at least 10x fewer stream bytes wait for a retransmission, for repair overhead within 1.5x the
 * loss rate plus a small constant, and no overhead at all on a clean path.
 */
describe('adaptive FEC over a lossy trans-Pacific path', () => {
  const scenarios = [
    { name: '3% random loss', lossRate: 0.03 },
    { name: '5% random loss', lossRate: 0.05 },
    { name: '10% random loss', lossRate: 0.1 },
    { name: 'bursty loss (Gilbert-Elliott 3%, bursts of 6)', burst: { meanLossRate: 0.03, meanBurstLength: 6 } },
  ];
  for (const sc of scenarios) {
    it(`${sc.name}: 10x fewer bytes wait for ARQ, overhead <= 1.5 * loss + 6%`, () => {
      const run = (seed: number, fec: boolean) =>
        runBulk({
          paths: [transPacific({ lossRate: sc.lossRate, burst: sc.burst })],
          seed,
          bytes: BYTES,
          limitMs: 60_000,
          fec,
          steadyFromMs: STEADY_FROM_MS,
        });
      const mean = (rs: ReturnType<typeof run>[], f: (r: ReturnType<typeof run>) => number) => rs.reduce((sum, r) => sum + f(r), 0) / rs.length;
      const off = SEEDS.map((seed) => run(seed, false));
      const on = SEEDS.map((seed) => run(seed, true));
      const context = `seeds ${SEEDS}: off ${JSON.stringify(off.map((r) => r.steady))} on ${JSON.stringify(on.map((r) => r.steady))} fec ${JSON.stringify(on.map((r) => r.senderStats.fec))}`;
      for (const r of [...off, ...on]) {
        expect(r.corruptAt, context).toBe(-1);
        expect(r.delivered, context).toBe(BYTES);
      }
      expect(mean(off, (r) => r.steady.fecOverhead), context).toBe(0);
      expect(mean(on, (r) => r.steady.retransmittedFraction) * 10, context).toBeLessThanOrEqual(mean(off, (r) => r.steady.retransmittedFraction));
      for (const r of on) {
        // The loss reported over the whole steady run: the smoothed estimate remembers only ~5,000
        // packets, about 25 loss runs at 3% in runs of 6, too few to sit within 1% of the truth.
        const { reportedLost, reportedReceived } = r.senderStats.paths[0].counters;
        const measuredLoss = reportedLost / (reportedLost + reportedReceived);
        expect(Math.abs(measuredLoss - (sc.lossRate ?? sc.burst!.meanLossRate)), context).toBeLessThan(0.01);
        expect(r.steady.fecOverhead, context).toBeLessThanOrEqual(1.5 * measuredLoss + 0.06);
        expect(r.receiverStats.fecRestoredPackets, context).toBeGreaterThan(0);
      }
    });
  }

  it('a clean path costs no repair packets', () => {
    const r = runBulk({ paths: [transPacific({})], seed: 78, bytes: 40 * MiB, limitMs: 20_000, fec: true, steadyFromMs: STEADY_FROM_MS });
    expect(r.delivered).toBe(40 * MiB);
    expect(r.steady.fecOverhead).toBeLessThan(0.005);
  });
});
