/**
 * Plain kernel TCP over an emulated link: two network namespaces, each with a TUN device whose
 * packets `socat` carries to loopback UDP in the root namespace, where a {@link LinkBridge}
 * applies the link model between them (netem is not in this kernel). The demo and the bench run
 * their direct-TCP baseline over it, on the same model the impairment proxy gives bering.
 *
 *   program in ns A (198.18.0.1) - tun A = socat = UDP - LinkBridge - UDP = socat = tun B - program in ns B (198.18.0.2)
 *
 * Addresses are from 198.18.0.0/15, reserved for benchmarking; the namespaces route nothing else,
 * so no traffic leaves them or loopback. The congestion control is set on the namespaces' route
 * (`ip route ... congctl`), which takes any algorithm the kernel has, where the per-namespace
 * default is limited to those the host allows.
 */
import { execFile as execFileCb, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { LinkConfig } from '../sim/link.ts';
import { Helpers, spawnChild, stopChild } from './children.ts';
import { freePort } from './freePort.ts';
import { LinkBridge } from './linkBridge.ts';

const execFile = promisify(execFileCb);

export const ADDR_A = '198.18.0.1';
export const ADDR_B = '198.18.0.2';
const PREFIX = '198.18.0.0/24';
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

/** How long a helper gets between SIGTERM and SIGKILL. */
export const HELPER_GRACE_MS = 1000;

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
  // Named per process: a demo and a bench may probe at the same moment.
  const probe = `bering-probe-${process.pid}`;
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

export interface NamespaceLinkOptions {
  /** Namespace and TUN device names (a TUN name has at most 15 characters). Existing ones are replaced. */
  names: { nsA: string; nsB: string; tunA: string; tunB: string };
  /** The A -> B link (ns A sends to ns B across it). `overheadBytes` is set to 0: packets are whole IP packets. */
  aToB: LinkConfig;
  bToA: LinkConfig;
  /** Seeds the bridge's links as {@link LinkBridge} does. */
  seed: number;
  /** Congestion control of both namespaces' route. */
  cc: string;
}

/** Links not yet closed, whose namespaces an exiting process still deletes. */
const openLinks = new Set<NamespaceLink>();
let exitHookSet = false;

/**
 * A running namespace pair; {@link NamespaceLink.start} it, run programs on either side with
 * {@link NamespaceLink.spawn}, `close()` when done. A process that exits without closing (an
 * uncaught error, `process.exit` on a signal) still deletes the namespaces on its way out.
 */
export class NamespaceLink {
  private readonly children: ChildProcess[] = [];
  /** The socats carrying the TUN devices. */
  private readonly helpers = new Helpers();
  private bridgeStarted: LinkBridge | null = null;
  private closing: Promise<void> | null = null;

  private constructor(private readonly opts: NamespaceLinkOptions) {}

  static async start(opts: NamespaceLinkOptions): Promise<NamespaceLink> {
    const link = new NamespaceLink(opts);
    openLinks.add(link);
    if (!exitHookSet) {
      exitHookSet = true;
      process.on('exit', () => {
        for (const l of openLinks) l.deleteNamespacesSync();
      });
    }
    try {
      await link.setUp();
      return link;
    } catch (err) {
      await link.close();
      throw err;
    }
  }

  get names(): NamespaceLinkOptions['names'] {
    return this.opts.names;
  }

  /** The forwarder applying the link model (its `stats()` count what crossed). */
  get bridge(): LinkBridge {
    return this.bridgeStarted!;
  }

  /** Runs `command args...` inside namespace `side` ('a' at 198.18.0.1, 'b' at 198.18.0.2); stopped by `close()`. */
  spawn(side: 'a' | 'b', command: string, args: string[], stdio: StdioOptions): ChildProcess {
    const child = spawnChild(command, args, { netns: side === 'a' ? this.opts.names.nsA : this.opts.names.nsB, stdio });
    this.children.push(child);
    return child;
  }

  /** Pids of the socat processes carrying the TUN devices. */
  get helperPids(): number[] {
    return this.helpers.pids;
  }

  /** Names the TUN socats that exited, with the end of their stderr; null while all run. */
  deaths(): string | null {
    return this.helpers.deaths();
  }

  /** Packets both TUN devices dropped so far (either way), from `ip -s -j link`. */
  async deviceDrops(): Promise<number> {
    const { nsA, nsB, tunA, tunB } = this.opts.names;
    let drops = 0;
    for (const [ns, tun] of [[nsA, tunA], [nsB, tunB]]) {
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

  /** Stops every process it started, the bridge, and deletes both namespaces. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.children, ...this.helpers.children].map((c) => stopChild(c, 'SIGTERM', HELPER_GRACE_MS)));
      await this.bridgeStarted?.close();
      await tryRun('ip', ['netns', 'del', this.opts.names.nsA]);
      await tryRun('ip', ['netns', 'del', this.opts.names.nsB]);
      openLinks.delete(this);
    })();
    return this.closing;
  }

  private deleteNamespacesSync(): void {
    for (const ns of [this.opts.names.nsA, this.opts.names.nsB]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }

  private async setUp(): Promise<void> {
    const { nsA, nsB, tunA, tunB } = this.opts.names;
    // Left over from a run that was killed: start clean.
    for (const ns of [nsA, nsB]) await tryRun('ip', ['netns', 'del', ns]);
    for (const ns of [nsA, nsB]) await run('ip', ['netns', 'add', ns]);

    const [socatA, socatB] = [await freePort('udp'), await freePort('udp')];
    // The TUN side carries whole IP packets, so no extra per-packet overhead: the same wire
    // bytes the proxy counts for a UDP payload plus its 28-byte header.
    const bridge = await LinkBridge.start({
      aPeer: { host: '127.0.0.1', port: socatA },
      bPeer: { host: '127.0.0.1', port: socatB },
      aToB: { ...this.opts.aToB, overheadBytes: 0 },
      bToA: { ...this.opts.bToA, overheadBytes: 0 },
      seed: this.opts.seed,
    });
    this.bridgeStarted = bridge;

    const sides = [
      { ns: nsA, tun: tunA, addr: ADDR_A, local: socatA, bridgePort: bridge.portA },
      { ns: nsB, tun: tunB, addr: ADDR_B, local: socatB, bridgePort: bridge.portB },
    ];
    for (const side of sides) {
      const socat = spawnChild(
        'socat',
        [
          '-b',
          '65536',
          `TUN,tun-name=${side.tun},iff-no-pi`,
          // Socket buffers as deep as the proxy's: the bridge delivers a timer tick's worth of
          // packets at once, and socat may be off the CPU for a few ms on a busy host.
          `UDP-DATAGRAM:127.0.0.1:${side.bridgePort},bind=127.0.0.1:${side.local},rcvbuf=${SOCKET_BUFFER_BYTES},sndbuf=${SOCKET_BUFFER_BYTES}`,
        ],
        {},
      );
      this.helpers.add(`socat ${side.tun}`, socat);
      await this.waitForDevice(side.tun, socat);
      await run('ip', ['link', 'set', side.tun, 'netns', side.ns]);
      await run('ip', ['-n', side.ns, 'addr', 'add', `${side.addr}/24`, 'dev', side.tun]);
      // socat drains the TUN queue one packet per read: an unpaced burst from TCP (cubic in slow
      // start) would overflow the default 500-packet queue and lose packets the link model never
      // saw. A deep queue only holds a burst for the moment socat needs to catch up.
      await run('ip', ['-n', side.ns, 'link', 'set', side.tun, 'txqueuelen', String(TUN_QUEUE_PACKETS)]);
      await run('ip', ['-n', side.ns, 'link', 'set', side.tun, 'up']);
      await run('ip', ['-n', side.ns, 'link', 'set', 'lo', 'up']);
      await run('ip', ['-n', side.ns, 'route', 'replace', PREFIX, 'dev', side.tun, 'src', side.addr, 'congctl', this.opts.cc]);
      await run('ip', ['netns', 'exec', side.ns, 'sysctl', '-q', '-w', ...Object.entries(TCP_SYSCTLS).map(([k, v]) => `${k}=${v}`)]);
    }
  }

  private async waitForDevice(name: string, socat: ChildProcess): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!(await tryRun('ip', ['link', 'show', 'dev', name]))) {
      if (socat.exitCode !== null) throw new Error(this.deaths() ?? `socat for ${name} exited`);
      if (Date.now() > deadline) throw new Error(`TUN device ${name} did not appear within 5 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * The congestion control of the established TCP sockets in namespace `ns`, read from `ss -ti`:
 * proof of what ran. Null if none found.
 */
export async function establishedCongestionControl(ns: string): Promise<string | null> {
  try {
    const { stdout } = await execFile('ip', ['netns', 'exec', ns, 'ss', '-tinH', 'state', 'established']);
    return /\b(cubic|bbr|reno|htcp|vegas|westwood|bic)\b/.exec(stdout)?.[1] ?? null;
  } catch {
    return null;
  }
}
