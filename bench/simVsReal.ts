/**
 * Does the simulator predict the real relays? (issue 12). The standard link, 90 ms each way,
 * 100 Mbit/s, a 60 ms queue and 3% random loss, given as the same `LinkConfig` to the bench's
 * impairment proxy and to the simulator's link: a bulk transfer of `--mib` MiB each way through
 * a fresh pair of real `bin/bering relay` processes, and the same transfer between two sessions in
 * the simulator on modelled hosts (`SOAK_HOST`: the relays' CPU per packet as profiled, timer
 * lateness, rare stalls). Goodput is counted from the first byte written, as a user would. Prints
 * both and their ratio per direction and runs, and exits 1 when the mean real goodput of a
 * direction differs from the simulator's by more than `--tolerance` percent.
 *
 *   tsx bench/simVsReal.ts [--mib 100] [--runs 2] [--tolerance 10]
 */
import { parseArgs } from 'node:util';
import { runBulk } from '../test/support/bulk.ts';
import { SOAK_HOST } from '../test/support/randomPaths.ts';
import { startBering } from './beringHarness.ts';
import { finishTransfer, WARMUP_BYTES } from './harness.ts';
import { relaysIdle } from './realSoak.ts';
import { SCENARIOS } from './scenarios.ts';
import { requireWholeNumbers, runScript, temporaryKeyFile } from './scriptSupport.ts';
import { goodputMbps, transferEndAt } from './stats.ts';

const MiB = 1024 * 1024;
/** The link every row of the bench is measured against at 3% loss. */
const STANDARD = 'loss3';
const DIRECTIONS = ['down', 'up'] as const;
type Direction = (typeof DIRECTIONS)[number];

const scenario = SCENARIOS.find((s) => s.name === STANDARD)!;

/** One transfer each way through a fresh real relay pair; Mbit/s from the first byte written. */
async function realRun(bytes: number, keyFile: string): Promise<Record<Direction, number>> {
  const h = await startBering({ paths: scenario.paths.slice(0, 1), seed: scenario.seed, keyFile, extraFlags: [] });
  try {
    const transfer = async (id: string, direction: Direction, size: number): Promise<number> => {
      h.viewer.send({ op: 'connect', id, target: h.target, spec: { kind: 'bulk', direction, bytes: size } });
      const startedAt = await h.viewer.started(id, 10_000);
      // At a tenth of the link's rate it would still finish: anything slower is a failure, not a figure.
      const capMs = Math.max(20_000, (size * 8) / 10_000);
      const { result, stoppedAt } = await finishTransfer(h, direction === 'down' ? h.viewer : h.service, id, capMs);
      if (result === null || !result.complete || result.bytes !== size) {
        throw new Error(`${direction}: ${((result?.bytes ?? 0) / MiB).toFixed(1)} of ${(size / MiB).toFixed(1)} MiB${result?.error ? ` (${result.error})` : ''}`);
      }
      return goodputMbps(result.bytes, (transferEndAt(result, stoppedAt, startedAt) - startedAt) / 1000);
    };
    // As a viewer finds relays that have run a while: their warm-up over, the data path compiled.
    await relaysIdle(h, 10_000);
    await transfer('warm-up', 'down', WARMUP_BYTES);
    return { down: await transfer('down', 'down', bytes), up: await transfer('up', 'up', bytes) };
  } finally {
    await h.close();
  }
}

/**
 * The same transfer over the same link in the simulator. Side A is the viewer's in both (the
 * entry relay, the simulator's dialer), so 'down', B to A, is listener to dialer.
 */
function simulatedMbps(bytes: number, direction: Direction, seed: number): number {
  const r = runBulk({ paths: scenario.paths.slice(0, 1), seed, bytes, limitMs: 120_000, fec: true, host: SOAK_HOST, reverse: direction === 'down' });
  if (!r.fin || r.corruptAt >= 0) throw new Error(`simulated ${direction}: ${(r.delivered / MiB).toFixed(1)} of ${(bytes / MiB).toFixed(1)} MiB`);
  return goodputMbps(r.delivered, (r.finishedAtMs - r.startedAtMs) / 1000);
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mib: { type: 'string', default: '100' },
      runs: { type: 'string', default: '2' },
      tolerance: { type: 'string', default: '10' },
    },
  });
  const mib = Number(values.mib);
  const runs = Number(values.runs);
  const tolerance = Number(values.tolerance);
  requireWholeNumbers([['--mib', mib, 1], ['--runs', runs, 1], ['--tolerance', tolerance, 1]]);
  const bytes = mib * MiB;
  console.log(`${STANDARD} (180 ms RTT, 100 Mbit/s, 60 ms queue, 3% loss): ${mib} MiB each way, Mbit/s from the first byte written`);
  const sim: Record<Direction, number[]> = { down: [], up: [] };
  const real: Record<Direction, number[]> = { down: [], up: [] };
  const { keyFile, remove } = temporaryKeyFile('bering-sim-vs-real-');
  try {
    for (let run = 1; run <= runs; run++) {
      const r = await realRun(bytes, keyFile);
      for (const d of DIRECTIONS) {
        real[d].push(r[d]);
        sim[d].push(simulatedMbps(bytes, d, run));
      }
      console.log(`run ${run}: ${DIRECTIONS.map((d) => `${d} real ${r[d].toFixed(1)}, simulated ${sim[d][run - 1].toFixed(1)}`).join('; ')}`);
    }
  } finally {
    remove();
  }
  let agree = true;
  for (const d of DIRECTIONS) {
    const ratio = mean(real[d]) / mean(sim[d]);
    const within = Math.abs(ratio - 1) * 100 <= tolerance;
    agree &&= within;
    console.log(`${d}: real ${mean(real[d]).toFixed(1)} Mbit/s, simulated ${mean(sim[d]).toFixed(1)}: real / simulated ${ratio.toFixed(3)} (${within ? 'within' : 'beyond'} ${tolerance}%)`);
  }
  if (!agree) process.exitCode = 1;
}

runScript('simVsReal', main);
