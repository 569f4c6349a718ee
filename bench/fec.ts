/**
 * FEC engine throughput, all measured in one run on one core:
 *
 *   npm run bench:fec [-- --json] [--k 10] [--m 3] [--shard 1200] [--seconds 0.5]
 *
 * MB/s are of source data (k * shard bytes per group), 1 MB = 1e6 bytes. `reconstruct` loses
 * min(k, m) data shards per group, the most expensive pattern. With --json prints one line:
 * {"k","m","shard","encode_MBps","reconstruct_MBps","js_encode_MBps","simd"}; otherwise a table
 * that also shows the scalar wasm kernel.
 */
import { performance } from 'node:perf_hooks';
import { loadFec, ReferenceReedSolomon, type ReedSolomon } from '../src/fec/index.ts';
import { SeededRng } from '../src/base/rng.ts';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`--${name} needs a positive number, got ${process.argv[at + 1]}`);
  }
  return value;
}

const k = option('k', 10);
const m = option('m', 3);
const shard = option('shard', 1200);
const seconds = option('seconds', 0.5);
const json = process.argv.includes('--json');

const rng = new SeededRng(1);
const data = Array.from({ length: k }, () => {
  const d = new Uint8Array(shard);
  rng.fill(d);
  return d;
});

/** Runs `op` for about `seconds` after a warm-up and returns MB/s of source data. */
function rate(op: () => void): number {
  const groupBytes = k * shard;
  const warmUntil = performance.now() + 100;
  while (performance.now() < warmUntil) op();
  let groups = 0;
  let batch = 1;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    for (let i = 0; i < batch; i++) op();
    groups += batch;
    batch *= 2;
    elapsed = performance.now() - start;
  }
  return (groups * groupBytes) / (elapsed / 1000) / 1e6;
}

function encodeRate(rs: ReedSolomon): number {
  const out = Array.from({ length: m }, () => new Uint8Array(shard));
  return rate(() => rs.encode(data, m, out));
}

function reconstructRate(rs: ReedSolomon): number {
  const parity = rs.encode(data, m);
  const lost = Math.min(k, m);
  const shards = [...data.map((d) => d.slice()), ...parity];
  const present = shards.map((_, i) => i >= lost);
  return rate(() => rs.reconstruct(shards, present, k, m));
}

const best = loadFec();
const result = {
  k,
  m,
  shard,
  encode_MBps: Math.round(encodeRate(best)),
  reconstruct_MBps: Math.round(reconstructRate(best)),
  js_encode_MBps: Math.round(encodeRate(new ReferenceReedSolomon())),
  simd: best.kernel === 'simd',
};

if (json) {
  console.log(JSON.stringify(result));
} else {
  const rows: [string, number, number][] = [
    [`wasm ${best.kernel}`, result.encode_MBps, result.reconstruct_MBps],
  ];
  if (best.kernel === 'simd') {
    const scalar = loadFec({ kernel: 'scalar' });
    rows.push(['wasm scalar', Math.round(encodeRate(scalar)), Math.round(reconstructRate(scalar))]);
  }
  const reference = new ReferenceReedSolomon();
  rows.push(['TypeScript reference', result.js_encode_MBps, Math.round(reconstructRate(reference))]);
  console.log(`Reed-Solomon k=${k} m=${m} shard=${shard} B, MB/s of source data, one core`);
  console.log('| engine | encode MB/s | reconstruct MB/s |');
  console.log('| --- | ---: | ---: |');
  for (const [name, enc, rec] of rows) console.log(`| ${name} | ${enc} | ${rec} |`);
  const ratio = (result.encode_MBps / result.js_encode_MBps).toFixed(1);
  console.log(`wasm ${best.kernel} encode is ${ratio}x the TypeScript reference`);
}
