import { measureFanIn } from './ceiling.ts';
const mb = Number(process.argv[2] ?? 300);
for (const w of (process.argv[3] ?? '0,2').split(',')) {
  const r = await measureFanIn({ entries: 2, connsPerEntry: 4, exitWorkers: Number(w), mb });
  console.log(`workers ${w}: ${r.mbps.toFixed(0)} Mbit/s, all ${r.cpuPerGb.toFixed(1)} CPU-s/GB, exit ${r.exitCpuPerGb.toFixed(1)}; exit cores ${r.exitCores.toFixed(2)} busiest ${r.exitBusiestThread.toFixed(2)}`);
}
