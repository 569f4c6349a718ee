/**
 * `bering bench` (`npm run bench`): compares bering with plain kernel TCP (cubic, bbr) and kcptun
 * on identical emulated links in one run, and writes report.md, report.html and results.json.
 * The command (flags, lock, key, report files) is the CLI's; the harness it drives is bench/,
 * loaded only when the command runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, usageError } from './errors.ts';
import { writeKeyFile } from './key.ts';
import { parseStrict } from './relayOptions.ts';
import { killAllChildren, processAlive } from '../lab/children.ts';
import { writeReport } from '../../bench/report.ts';
import { runCeilingTable } from '../../bench/ceiling.ts';
import { runBench } from '../../bench/run.ts';
import { FULL_PLAN, QUICK_PLAN, SCENARIOS, WORKLOAD_NAMES, type WorkloadName } from '../../bench/scenarios.ts';
import { selectSystems, SYSTEMS } from '../../bench/systems.ts';

export const BENCH_USAGE = `Usage: bering bench [options]

Runs bering, plain kernel TCP (cubic and bbr) and kcptun over the same emulated links and writes
a report (report.md, report.html, results.json). Kernel TCP needs root (network namespaces);
kcptun needs the kcptun package. A system that cannot run is reported as such.

Options:
  --quick                    a small subset, under 3 minutes: bering, TCP and kcptun on clean,
                             3% and bursty loss (add bering's variants with --only)
  --out DIR                  where to write the report (default bench/out/<timestamp>)
  --only SYSTEM[,SYSTEM]     systems to run: ${SYSTEMS.map((s) => s.id).join(', ')}
                             (a prefix picks its variants: bering, tcp)
  --scenario NAME[,NAME]     scenarios to run: ${SCENARIOS.map((s) => s.name).join(', ')}
  --workload NAME[,NAME]     workloads to run: ${WORKLOAD_NAMES.join(', ')}
                             (of the plan's: quick has bulk-down and cbr-down)
  --ceiling                  instead: the loopback ceiling of bering and kcptun (no link model;
                             1 and 8 connections, one core and two), and one exit relay serving
                             two entry relays with and without --workers, written to ceiling.md
  --ceiling-mb N             megabytes moved per ceiling case (default 500)
  -h, --help                 show this help`;

const BENCH_FLAGS = {
  quick: { type: 'boolean' },
  out: { type: 'string' },
  only: { type: 'string', multiple: true },
  scenario: { type: 'string', multiple: true },
  workload: { type: 'string', multiple: true },
  ceiling: { type: 'boolean' },
  'ceiling-mb': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs the bench; resolves with the exit status. */
export async function benchCommand(args: string[]): Promise<number> {
  const { values } = parseStrict(args, BENCH_FLAGS);
  if (values.help) {
    process.stdout.write(`${BENCH_USAGE}\n`);
    return 0;
  }
  const base = values.quick ? QUICK_PLAN : FULL_PLAN;
  const only = list(values.only);
  const systems = only === undefined && base.systems !== undefined ? SYSTEMS.filter((s) => base.systems!.includes(s.id)) : selectSystems(only);
  if (only !== undefined && systems.length === 0) throw usageError(`--only: no system named ${only.join(', ')} (known: ${SYSTEMS.map((s) => s.id).join(', ')})`);
  const picked = list(values.scenario);
  for (const name of picked ?? []) {
    if (!SCENARIOS.some((s) => s.name === name)) throw usageError(`--scenario: unknown scenario '${name}' (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  }
  const workloads = list(values.workload);
  for (const name of workloads ?? []) {
    if (!WORKLOAD_NAMES.includes(name as WorkloadName)) throw usageError(`--workload: unknown workload '${name}' (known: ${WORKLOAD_NAMES.join(', ')})`);
    if (!base.workloads.some((w) => w.name === name)) throw usageError(`--workload: the quick plan has no '${name}' (it has ${base.workloads.map((w) => w.name).join(', ')}); drop --quick`);
  }
  // An explicit --scenario may name any scenario, in quick mode too; the order stays the report's.
  const plan = {
    ...base,
    scenarios: picked === undefined ? base.scenarios : SCENARIOS.map((s) => s.name).filter((n) => picked.includes(n)),
    workloads: workloads === undefined ? base.workloads : base.workloads.filter((w) => workloads.includes(w.name)),
  };

  const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const outDir = resolve(values.out ?? fileURLToPath(new URL(`../../bench/out/${stamp}`, import.meta.url)));
  mkdirSync(outDir, { recursive: true });

  const ceilingMb = Number(values['ceiling-mb'] ?? 500);
  if (!(Number.isInteger(ceilingMb) && ceilingMb > 0)) throw usageError(`--ceiling-mb: expected a positive whole number of megabytes, got '${values['ceiling-mb']}'`);

  takeLock();
  const onSignal = (signal: NodeJS.Signals): void => {
    killAllChildren();
    rmSync(LOCK_FILE, { force: true });
    process.stderr.write(`\nbering: bench interrupted (${signal})\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (values.ceiling) {
      const machine = machineInfo();
      const { results, fanIn, markdown } = await runCeilingTable(ceilingMb, (line) => process.stdout.write(`${line}\n`));
      const header = `# bering loopback ceiling\n\nMachine: ${Object.entries(machine).map(([k, v]) => `${k} ${v}`).join(', ')}; load at end ${loadAverage()}.\n\n`;
      writeFileSync(join(outDir, 'ceiling.md'), header + markdown);
      writeFileSync(join(outDir, 'ceiling.json'), `${JSON.stringify({ machine, results, fanIn }, null, 2)}\n`);
      process.stdout.write(`bench report: ${join(outDir, 'ceiling.md')}\n`);
      return 0;
    }
    // One key for every relay pair of the run, in a directory of its own that goes with the run.
    const keyDir = mkdtempSync(join(os.tmpdir(), 'bering-bench-'));
    const keyFile = join(keyDir, 'bering.key');
    writeKeyFile(keyFile);
    const results = await runBench(plan, systems, machineInfo(), keyFile).finally(() => rmSync(keyDir, { recursive: true, force: true }));
    // Other work on the machine skews every figure: say how busy it was on both ends of the run.
    results.machine.loadAverageAtEnd = loadAverage();
    const files = writeReport(outDir, results);
    process.stdout.write(`bench report: ${files.join(', ')}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(LOCK_FILE, { force: true });
  }
}

/** One bench at a time per machine: runs share the network namespace names and the CPUs. */
const LOCK_FILE = join(os.tmpdir(), 'bering-bench.lock');

function takeLock(): void {
  for (;;) {
    try {
      writeFileSync(LOCK_FILE, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(LOCK_FILE, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) {
      throw new CliError(`another bering bench (pid ${holder}) is running on this machine; wait for it (its figures would be skewed by this one, and they share network namespaces)`);
    }
    // Left by a bench that died: take it over.
    rmSync(LOCK_FILE, { force: true });
  }
}

function list(values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/** The machine the figures come from: they mean little without it. */
function machineInfo(): Record<string, string> {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const git = (...args: string[]): string => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    commit = git('rev-parse', '--short', 'HEAD');
    // Figures from a work tree with edits are not the commit's: say so.
    if (git('status', '--porcelain', '--', 'src', 'bin', 'wasm') !== '') commit += ' with uncommitted changes';
  } catch {
    // Not a git checkout (an installed package): the version below still says what ran.
  }
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    nproc: String(os.availableParallelism()),
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    bering: commit,
    loadAverageAtStart: loadAverage(),
  };
}

function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}
