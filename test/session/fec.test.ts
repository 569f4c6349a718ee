import { describe, expect, it } from 'vitest';
import { transPacific } from '../../src/sim/network.ts';
import { runBulk } from '../support/bulk.ts';

const MiB = 1024 * 1024;
const STEADY_FROM_MS = 4000;
/**
 * Long enough for about ten seconds of steady state: a failed bulk group costs a dozen
 * retransmitted packets at once, so a shorter run counts too few groups to tell 10x from 7x.
 */
const BYTES = 150 * MiB;

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
      const seed = 77;
      const run = (fec: boolean) =>
        runBulk({
          paths: [transPacific({ lossRate: sc.lossRate, burst: sc.burst })],
          seed,
          bytes: BYTES,
          limitMs: 60_000,
          fec,
          steadyFromMs: STEADY_FROM_MS,
        });
      const off = run(false);
      const on = run(true);
      const context = `seed ${seed}: off ${JSON.stringify(off.steady)} on ${JSON.stringify(on.steady)} fec ${JSON.stringify(on.senderStats.fec)}`;
      for (const r of [off, on]) {
        expect(r.corruptAt, context).toBe(-1);
        expect(r.delivered, context).toBe(BYTES);
      }
      expect(off.steady.fecOverhead, context).toBe(0);
      expect(on.steady.retransmittedFraction * 10, context).toBeLessThanOrEqual(off.steady.retransmittedFraction);
      const measuredLoss = on.senderStats.paths[0].reportedLossRate;
      expect(Math.abs(measuredLoss - (sc.lossRate ?? sc.burst!.meanLossRate)), context).toBeLessThan(0.01);
      expect(on.steady.fecOverhead, context).toBeLessThanOrEqual(1.5 * measuredLoss + 0.06);
      expect(on.receiverStats.fecRestoredPackets, context).toBeGreaterThan(0);
    });
  }

  it('a clean path costs no repair packets', () => {
    const r = runBulk({ paths: [transPacific({})], seed: 78, bytes: 40 * MiB, limitMs: 20_000, fec: true, steadyFromMs: STEADY_FROM_MS });
    expect(r.delivered).toBe(40 * MiB);
    expect(r.steady.fecOverhead).toBeLessThan(0.005);
  });
});
