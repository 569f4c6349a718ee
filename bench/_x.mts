import { measureCeiling } from './ceiling.ts';
const mb = Number(process.argv[2] ?? 200);
const conns = Number(process.argv[3] ?? 1);
for (const w of (process.argv[4] ?? '0,1,2').split(',')) {
  const r = await measureCeiling({ system: 'bering', mb, conns, exitFlags: ['--workers', w] });
  console.log(`workers ${w} conns ${conns}: ${r.mbps.toFixed(0)} Mbit/s, ${r.cpuPerGb.toFixed(1)} CPU-s/GB (entry ${r.entryCpu.toFixed(1)} exit ${r.exitCpu.toFixed(1)}) busiest thread entry ${r.busiestThread.entry.toFixed(2)} exit ${r.busiestThread.exit.toFixed(2)}`);
}
