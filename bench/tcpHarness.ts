/**
 * Plain kernel TCP over the same emulated link: two network namespaces, each with a TUN device
 * whose packets `socat` carries to loopback UDP in the root namespace, where a {@link LinkBridge}
 * applies the scenario's link model between them (netem is not in this kernel).
 *
 *   viewer (bns_a, 198.18.0.1) - btunA = socat = UDP - LinkBridge - UDP = socat = btunB - service (bns_b, 198.18.0.2)
 *
 * Addresses are from 198.18.0.0/15, reserved for benchmarking; the namespaces route nothing else,
 * so no bench traffic leaves them or loopback. The congestion control is set on the namespaces'
 * route (`ip route ... congctl`), which takes any algorithm the kernel has, where the per-namespace
 * default is limited to those the host allows.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile as execFileCb } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { pathSeed } from './beringHarness.ts';
import { spawnChild, stopChild } from './children.ts';
import { EndpointProcess } from './endpointProcess.ts';
import { freePort, Helpers, type Harness } from './harness.ts';
import { LinkBridge } from './linkBridge.ts';
import type { PathSpec } from './scenarios.ts';

const execFile = promisify(execFileCb);

const NS_A = 'bns_a';
const NS_B = 'bns_b';
const TUN_A = 'btunA';
const TUN_B = 'btunB';
const ADDR_A = '198.18.0.1';
const ADDR_B = '198.18.0.2';
const PREFIX = '198.18.0.0/24';
const SERVICE_PORT = 5001;
const TUN_QUEUE_PACKETS = 10_000;
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Set in both namespaces: buffers that let one flow fill a 100 Mbit/s, 240 ms (RTT + queue) path
 * (the host default caps the send buffer at 4 MiB, below that), no metrics carried from one
 * connection to the next, and no IPv6 chatter on the TUN devices.
 */
export const TCP_SYSCTLS: Record<string, string> = {
  'net.ipv4.tcp_rmem': '4096 131072 33554432',
  'net.ipv4.tcp_wmem': '4096 16384 33554432',
  'net.ipv4.tcp_no_metrics_save': '1',
  'net.ipv6.conf.all.disable_ipv6': '1',
  'net.ipv6.conf.default.disable_ipv6': '1',
};

async function run(cmd: string, args: string[]): Promise<void> {
  await execFile(cmd, args);
}

async function tryRun(cmd: string, args: string[]): Promise<boolean> {
  try {
    await execFile(cmd, args);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why kernel TCP with congestion control `cc` cannot run here, or null if it can: needs root,
 * `ip`, `socat`, /dev/net/tun, working network namespaces and the algorithm in the kernel
 * (`modprobe tcp_<cc>` is tried).
 */
export async function kernelTcpUnavailable(cc: string): Promise<string | null> {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (it creates network namespaces and TUN devices)';
  if (!(await tryRun('ip', ['-V']))) return "needs iproute2's ip";
  if (!(await tryRun('socat', ['-V']))) return 'needs socat (apt-get install socat)';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  const probe = 'bns_probe';
  await tryRun('ip', ['netns', 'del', probe]);
  if (!(await tryRun('ip', ['netns', 'add', probe]))) return 'cannot create network namespaces here';
  await tryRun('ip', ['netns', 'del', probe]);
  const available = (): string[] => readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);
  if (!available().includes(cc)) {
    await tryRun('modprobe', [`tcp_${cc}`]);
    if (!available().includes(cc)) return `${cc} congestion control is not in this kernel (modprobe tcp_${cc} failed)`;
  }
  return null;
}

/** Starts the two namespaces over `path` with congestion control `cc`. */
export async function startKernelTcp(opts: { path: PathSpec; seed: number; cc: string }): Promise<Harness> {
  const helpers = new Helpers();
  const started: Array<{ close(): Promise<void> }> = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(started.map((s) => s.close()));
    await Promise.all(helpers.children.map((c) => stopChild(c, 'SIGTERM', 1000)));
    await tryRun('ip', ['netns', 'del', NS_A]);
    await tryRun('ip', ['netns', 'del', NS_B]);
  };
  try {
    // Left over from a bench that was killed: start clean.
    for (const ns of [NS_A, NS_B]) await tryRun('ip', ['netns', 'del', ns]);
    for (const ns of [NS_A, NS_B]) await run('ip', ['netns', 'add', ns]);

    const [socatA, socatB] = [await freePort('udp'), await freePort('udp')];
    // The TUN side carries whole IP packets, so no extra per-packet overhead: the same wire
    // bytes the proxy counts for a UDP payload plus its 28-byte header.
    const bridge = await LinkBridge.start({
      aPeer: { host: '127.0.0.1', port: socatA },
      bPeer: { host: '127.0.0.1', port: socatB },
      aToB: { ...opts.path.aToB, overheadBytes: 0 },
      bToA: { ...opts.path.bToA, overheadBytes: 0 },
      seed: pathSeed(opts.seed, 0),
    });
    started.push(bridge);

    const sides = [
      { ns: NS_A, tun: TUN_A, addr: ADDR_A, local: socatA, bridgePort: bridge.portA },
      { ns: NS_B, tun: TUN_B, addr: ADDR_B, local: socatB, bridgePort: bridge.portB },
    ];
    for (const side of sides) {
      const socat = helpers.add(
        `socat ${side.tun}`,
        spawnChild('socat', [
          '-b',
          '65536',
          `TUN,tun-name=${side.tun},iff-no-pi`,
          // Socket buffers as deep as the proxy's: the bridge delivers a timer tick's worth of
          // packets at once, and socat may be off the CPU for a few ms on a busy host.
          `UDP-DATAGRAM:127.0.0.1:${side.bridgePort},bind=127.0.0.1:${side.local},rcvbuf=${SOCKET_BUFFER_BYTES},sndbuf=${SOCKET_BUFFER_BYTES}`,
        ]),
      );
      await waitForDevice(side.tun, socat, () => helpers.deaths());
      await run('ip', ['link', 'set', side.tun, 'netns', side.ns]);
      await run('ip', ['-n', side.ns, 'addr', 'add', `${side.addr}/24`, 'dev', side.tun]);
      // socat drains the TUN queue one packet per read: an unpaced burst from TCP (cubic in slow
      // start) would overflow the default 500-packet queue and lose packets the link model never
      // saw. A deep queue only holds a burst for the moment socat needs to catch up.
      await run('ip', ['-n', side.ns, 'link', 'set', side.tun, 'txqueuelen', String(TUN_QUEUE_PACKETS)]);
      await run('ip', ['-n', side.ns, 'link', 'set', side.tun, 'up']);
      await run('ip', ['-n', side.ns, 'link', 'set', 'lo', 'up']);
      await run('ip', ['-n', side.ns, 'route', 'replace', PREFIX, 'dev', side.tun, 'src', side.addr, 'congctl', opts.cc]);
      await run('ip', ['netns', 'exec', side.ns, 'sysctl', '-q', '-w', ...Object.entries(TCP_SYSCTLS).map(([k, v]) => `${k}=${v}`)]);
    }

    const [serviceStart, viewerStart] = await Promise.allSettled([
      EndpointProcess.start({ listen: `${ADDR_B}:${SERVICE_PORT}`, netns: NS_B }),
      EndpointProcess.start({ netns: NS_A }),
    ]);
    for (const s of [serviceStart, viewerStart]) if (s.status === 'fulfilled') started.push(s.value.endpoint);
    if (serviceStart.status === 'rejected') throw serviceStart.reason;
    if (viewerStart.status === 'rejected') throw viewerStart.reason;
    const [service, viewer] = [serviceStart.value.endpoint, viewerStart.value.endpoint];
    return {
      target: { host: ADDR_B, port: SERVICE_PORT },
      viewer,
      service,
      relays: null,
      paths: [bridge],
      deaths: () => helpers.deaths(),
      emulatorPids: () => helpers.pids,
      deviceDrops: tunDrops,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * The congestion control of the established TCP sockets in the namespace of the sender of
 * `direction` ('down': the service's), read from `ss -ti`: proof of what ran. Null if none found.
 */
export async function senderCongestionControl(direction: 'down' | 'up'): Promise<string | null> {
  try {
    const { stdout } = await execFile('ip', ['netns', 'exec', direction === 'down' ? NS_B : NS_A, 'ss', '-tinH', 'state', 'established']);
    return /\b(cubic|bbr|reno|htcp|vegas|westwood|bic)\b/.exec(stdout)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Packets both TUN devices dropped so far (either way), from `ip -s -j link`. */
async function tunDrops(): Promise<number> {
  let drops = 0;
  for (const [ns, tun] of [[NS_A, TUN_A], [NS_B, TUN_B]]) {
    try {
      const { stdout } = await execFile('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', tun]);
      const [dev] = JSON.parse(stdout) as Array<{ stats64?: { rx?: { dropped?: number }; tx?: { dropped?: number } } }>;
      drops += (dev.stats64?.rx?.dropped ?? 0) + (dev.stats64?.tx?.dropped ?? 0);
    } catch {
      // The namespace is gone (closing): nothing more to count.
    }
  }
  return drops;
}

async function waitForDevice(name: string, socat: ChildProcess, deaths: () => string | null): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await tryRun('ip', ['link', 'show', 'dev', name]))) {
    if (socat.exitCode !== null) throw new Error(deaths() ?? `socat for ${name} exited`);
    if (Date.now() > deadline) throw new Error(`TUN device ${name} did not appear within 5 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
