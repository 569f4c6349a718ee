/**
 * The 30-minute soak of issue 8 on the simulator (the short one is in `npm test`):
 *
 *   npx tsx bench/soak.ts [--minutes 30] [--segment-s 60] [--seed N] [--resets]
 *
 * Runs stream churn through a dialer and a listener over two lossy, bursty paths that go dark
 * now and then (see test/reliability/soak.ts), pausing at a quiet point every segment to take a
 * census of all session and listener state and the heap. Prints one line per quiet point and
 * the containers that grew, and exits 1 on a transfer problem, growth or a capped container
 * over its cap. `--resets` adds mid-upload resets (they crash the core today; see soak.ts).
 */
import { growth, overCaps, soak } from '../test/reliability/soak.ts';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number, got ${process.argv[at + 1]}`);
  return value;
}

const minutes = option('minutes', 30);
const segmentS = option('segment-s', 60);
const seed = option('seed', 30);
const resets = process.argv.includes('--resets');
const mb = (b: number): string => (b / 1048576).toFixed(2);

console.log(`soak: seed ${seed}, ${minutes} simulated minutes, a quiet point every ${segmentS} s${resets ? ', with resets' : ''}`);
console.log('virtual s  real s  streams  reset  MiB verified  heap MiB  state entries  state MiB');
const r = soak({
  seed,
  durationMs: minutes * 60_000,
  segmentMs: segmentS * 1000,
  resets,
  onSegment: (q) => {
    let entries = 0;
    let bytes = 0;
    for (const [k, v] of Object.entries(q.census)) {
      if (k.endsWith('#bytes')) bytes += v;
      else entries += v;
    }
    console.log(
      `${(q.atMs / 1000).toFixed(0).padStart(9)}  ${(q.wallMs / 1000).toFixed(0).padStart(6)}  ${String(q.streamsCompleted).padStart(7)}  ${String(q.streamsReset).padStart(5)}  ${mb(q.bytesVerified).padStart(12)}  ${mb(q.heapBytes).padStart(8)}  ${String(entries).padStart(13)}  ${mb(bytes).padStart(9)}`,
    );
  },
});
const grew = r.quiet.length >= 3 ? growth(r.quiet, { entries: 16, bytes: 64 * 1024 }) : [];
const over = [overCaps(r.peakLive), ...r.quiet.map((q) => overCaps(q.census))].flat();
const heaps = r.quiet.slice(1).map((q) => q.heapBytes);
const heapGrew = heaps.length >= 2 && heaps[heaps.length - 1] > Math.max(...heaps.slice(0, -1)) + (1 << 20);
const last = r.quiet[r.quiet.length - 1];
console.log(`streams carried: ${last?.streamsCompleted ?? 0} (${last?.streamsReset ?? 0} reset on purpose), ${mb(last?.bytesVerified ?? 0)} MiB verified byte-exact`);
console.log(`faults: ${r.pathDownEvents} path-down events; ${r.injected} replayed or forged datagrams injected, ${r.injectedAccepted} accepted`);
console.log(`peak running state: ${Object.entries(r.peakLive).filter(([k]) => /streams$|history\.slots$|received\.starts$|fecDecoder\.groups$|repairQueue$|openGroups$|listener\.sessions$|seen$/.test(k)).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`peak RSS: ${mb(process.resourceUsage().maxRSS * 1024)} MiB`);
console.log(`grew: ${grew.length === 0 ? 'nothing' : grew.join('; ')}; over caps: ${over.length === 0 ? 'nothing' : over.join('; ')}; heap ${heapGrew ? 'GREW' : 'flat'}`);
const failed = r.problem !== null || grew.length > 0 || over.length > 0 || heapGrew || r.injectedAccepted > 0;
if (r.problem !== null) console.log(`problem: ${r.problem}`);
console.log(failed ? `FAILED (seed ${seed})` : 'OK');
process.exitCode = failed ? 1 : 0;
