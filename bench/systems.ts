/**
 * The systems the bench compares, how each is started on a scenario, and how each finds out
 * whether it can run here at all (a missing baseline is reported, never fatal).
 */
import { spawnSync } from 'node:child_process';
import { FEC_OFF_FLAGS, relayAccepts, startBering } from './beringHarness.ts';
import type { Harness } from './harness.ts';
import { KCPTUN_CLIENT, KCPTUN_FLAGS, KCPTUN_SERVER, startKcptun } from './kcptunHarness.ts';
import type { Scenario } from './scenarios.ts';
import { kernelTcpUnavailable, startKernelTcp, TCP_SYSCTLS } from './tcpHarness.ts';

export interface SystemDef {
  id: string;
  /** What the report calls it. */
  label: string;
  /** Its settings, stated in the report. */
  settings: string;
  /** Uses every path of a multipath scenario (and runs only there); others get path 0. */
  multipath: boolean;
  /** Why it cannot run on this machine, or null. Called once per bench. */
  unavailable(): Promise<string | null>;
  /** `traceDir`: where a system that can trace its stream bytes (bering) writes them. */
  start(scenario: Scenario, keyFile: string, traceDir: string): Promise<Harness>;
}

const tcpSettings = (cc: string): string =>
  `Linux kernel TCP, congestion control ${cc} (set on the namespace route), ` +
  `${Object.entries(TCP_SYSCTLS)
    .filter(([k]) => k.includes('tcp'))
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}, MTU 1500`;

export const SYSTEMS: SystemDef[] = [
  {
    id: 'bering',
    label: 'bering',
    settings: '`bin/bering relay` defaults, one path',
    multipath: false,
    unavailable: async () => null,
    start: (s, keyFile, traceDir) => startBering({ paths: s.paths.slice(0, 1), seed: s.seed, keyFile, extraFlags: [], traceDir }),
  },
  {
    id: 'bering-nofec',
    label: 'bering (FEC off)',
    settings: `\`bin/bering relay ${FEC_OFF_FLAGS.join(' ')}\`, one path`,
    multipath: false,
    unavailable: async () => ((await relayAccepts(FEC_OFF_FLAGS)) ? null : `this relay build has no FEC switch (\`${FEC_OFF_FLAGS.join(' ')}\` is rejected)`),
    start: (s, keyFile, traceDir) => startBering({ paths: s.paths.slice(0, 1), seed: s.seed, keyFile, extraFlags: FEC_OFF_FLAGS, traceDir }),
  },
  {
    id: 'bering-2path',
    label: 'bering, 2 paths',
    settings: '`bin/bering relay --peer A,B` (one path per emulated link), defaults otherwise',
    multipath: true,
    unavailable: async () => null,
    start: (s, keyFile, traceDir) => startBering({ paths: s.paths, seed: s.seed, keyFile, extraFlags: [], traceDir }),
  },
  ...['cubic', 'bbr'].map(
    (cc): SystemDef => ({
      id: `tcp-${cc}`,
      label: `TCP ${cc}`,
      settings: tcpSettings(cc),
      multipath: false,
      unavailable: () => kernelTcpUnavailable(cc),
      start: (s) => startKernelTcp({ path: s.paths[0], seed: s.seed, cc }),
    }),
  ),
  {
    id: 'kcptun',
    label: 'kcptun',
    settings: `kcptun ${kcptunVersion()}, both ends: \`${KCPTUN_FLAGS.join(' ')}\``,
    multipath: false,
    unavailable: async () =>
      [KCPTUN_CLIENT, KCPTUN_SERVER].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0)
        ? null
        : `${KCPTUN_CLIENT}/${KCPTUN_SERVER} not found (apt-get install kcptun)`,
    start: (s) => startKcptun({ path: s.paths[0], seed: s.seed }),
  },
];

/** The systems a scenario runs: multipath ones only where there are several paths. */
export function systemsFor(scenario: Scenario, systems: SystemDef[]): SystemDef[] {
  const several = scenario.paths.length > 1;
  return systems.filter((s) => (s.multipath ? several : !several || scenario.singlePathSystems));
}

/**
 * Systems picked by `--only`: a name selects the system with that id and every variant of it
 * (`bering` also picks `bering-nofec` and `bering-2path`; `tcp` picks both TCPs).
 */
export function selectSystems(only: string[] | undefined): SystemDef[] {
  if (only === undefined) return SYSTEMS;
  return SYSTEMS.filter((s) => only.some((name) => s.id === name || s.id.startsWith(`${name}-`)));
}

/** The installed package's version (the binaries report only "SELFBUILD"). */
function kcptunVersion(): string {
  const out = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'kcptun'], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : 'version unknown';
}
