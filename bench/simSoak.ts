/**
 * The no-collapse property over many seeded random paths, in the simulator on modelled hosts
 * (issue 17): for each path a live stream and a bulk transfer, checked as a viewer would. Prints
 * the distribution worst first and the failures, and exits 1 if any run failed.
 *
 *   tsx bench/simSoak.ts [--runs 1000] [--from 1] [--stream-ms 8000] [--bulk-seconds 10]
 */
import { parseArgs } from 'node:util';
import { describeOutcome, soakOne, type SoakOutcome } from '../test/support/randomPaths.ts';
import { requireWholeNumbers, runScript } from './scriptSupport.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '1000' },
      from: { type: 'string', default: '1' },
      'stream-ms': { type: 'string', default: '8000' },
      'bulk-seconds': { type: 'string', default: '10' },
    },
  });
  const runs = Number(values.runs);
  const from = Number(values.from);
  const streamMs = Number(values['stream-ms']);
  const bulkSeconds = Number(values['bulk-seconds']);
  requireWholeNumbers([['--runs', runs, 1], ['--from', from, 0], ['--stream-ms', streamMs, 2000], ['--bulk-seconds', bulkSeconds, 1]]);
  const outcomes: SoakOutcome[] = [];
  const t0 = performance.now();
  for (let seed = from; seed < from + runs; seed++) {
    const o = soakOne(seed, { streamMs, bulkSeconds, reverse: seed % 2 === 0 });
    outcomes.push(o);
    if (!o.streamOk || !o.bulkOk) console.log(`FAIL ${describeOutcome(o)}`);
    if ((seed - from + 1) % 25 === 0) {
      const failed = outcomes.filter((x) => !x.streamOk || !x.bulkOk).length;
      process.stderr.write(`${seed - from + 1}/${runs} runs, ${failed} failed, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    }
  }
  const byExcess = [...outcomes].sort((a, b) => b.streamExcessMs - a.streamExcessMs);
  const byShare = outcomes.filter((o) => !Number.isNaN(o.bulkShare)).sort((a, b) => a.bulkShare - b.bulkShare);
  const failed = outcomes.filter((o) => !o.streamOk || !o.bulkOk);
  console.log(`\n${runs} random paths, ${failed.length} failed (streams ${outcomes.filter((o) => !o.streamOk).length}, bulk ${outcomes.filter((o) => !o.bulkOk).length}), ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const q = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  const excess = byExcess.map((o) => o.streamExcessMs).reverse();
  console.log(`stream: worst chunk over one-way delay, ms: p50 ${q(excess, 0.5).toFixed(0)}, p90 ${q(excess, 0.9).toFixed(0)}, p99 ${q(excess, 0.99).toFixed(0)}, max ${excess[excess.length - 1].toFixed(0)}`);
  const shares = byShare.map((o) => o.bulkShare);
  if (shares.length > 0) console.log(`bulk (paths <= 200 Mbit/s): share of capacity after loss: min ${(shares[0] * 100).toFixed(0)}%, p10 ${(q(shares, 0.1) * 100).toFixed(0)}%, p50 ${(q(shares, 0.5) * 100).toFixed(0)}%`);
  console.log('\nworst streams:');
  for (const o of byExcess.slice(0, 10)) console.log(`  ${describeOutcome(o)}`);
  console.log('lowest bulk shares:');
  for (const o of byShare.slice(0, 10)) console.log(`  ${describeOutcome(o)}`);
  if (failed.length > 0) process.exitCode = 1;
}

runScript('simSoak', main);
