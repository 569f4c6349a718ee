import type { LinkConfig } from '../../src/sim/link.ts';
import { transPacific } from '../../src/sim/network.ts';
import { runBulk, type BulkResult } from './bulk.ts';

/** Loss scenarios on the trans-Pacific reference path that the bulk lane's FEC is sized for. */
export interface FecScenario {
  name: string;
  lossRate?: number;
  burst?: LinkConfig['burstLoss'];
}

export const FEC_SCENARIOS: readonly FecScenario[] = [
  { name: '3% random loss', lossRate: 0.03 },
  { name: '5% random loss', lossRate: 0.05 },
  { name: '10% random loss', lossRate: 0.1 },
  { name: 'bursty loss (Gilbert-Elliott 3%, bursts of 6)', burst: { meanLossRate: 0.03, meanBurstLength: 6 } },
];

/**
 * Steady state begins once start-up is over and the loss is measured: start-up's overshoot
 * fills the queue and the first loss reports are ignored.
 */
export const FEC_STEADY_FROM_MS = 4000;

/** What one bulk run over a scenario says about FEC. */
export interface FecFigures {
  /** Stream bytes sent again by ARQ per delivered byte, in steady state. */
  retransmittedFraction: number;
  /** Repair packets per source packet, in steady state. */
  overhead: number;
  /** Raw loss the receiver reported over the whole run (before FEC and ARQ hide it). */
  measuredLoss: number;
  restoredPackets: number;
}

/** One bulk transfer of `bytes` over the scenario's path, with or without FEC. */
export function runFecScenario(sc: FecScenario, seed: number, bytes: number, fec: boolean): { run: BulkResult; figures: FecFigures } {
  const run = runBulk({
    paths: [transPacific({ lossRate: sc.lossRate, burst: sc.burst })],
    seed,
    bytes,
    limitMs: 60_000,
    fec,
    steadyFromMs: FEC_STEADY_FROM_MS,
  });
  // The loss reported over the whole run: the smoothed estimate remembers only ~5,000 packets,
  // about 25 loss runs at 3% in runs of 6, too few to sit within 1% of the truth.
  const { reportedLost, reportedReceived } = run.senderStats.paths[0].counters;
  return {
    run,
    figures: {
      retransmittedFraction: run.steady.retransmittedFraction,
      overhead: run.steady.fecOverhead,
      measuredLoss: reportedLost / Math.max(1, reportedLost + reportedReceived),
      restoredPackets: run.receiverStats.fecRestoredPackets,
    },
  };
}

/** The overhead FEC may spend on a path measured to lose `loss`: the policy's 1.5 * loss + 3%, with room. */
export function overheadBound(loss: number): number {
  return 1.5 * loss + 0.06;
}

/** The scenario's configured mean loss rate. */
export function scenarioLoss(sc: FecScenario): number {
  return sc.lossRate ?? sc.burst!.meanLossRate;
}
