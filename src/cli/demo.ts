/**
 * `bering demo` (`npm start`): the whole system on one machine, raced against plain TCP. A TCP
 * sink plays the service, an exit relay forwards to it, an impairment proxy emulates a
 * trans-Pacific path (90 ms one-way, 3% loss, 100 Mbit/s, 60 ms queue), and an entry relay dials
 * the exit relay through it. At the same moment, Linux kernel TCP crosses its own copy of that
 * path (same model, same seed) between two network namespaces. A live line per leg shows its
 * throughput; the summary gives both goodputs, whether the bytes arrived intact, and a verdict.
 *
 * The tunnel carries `--size` MiB. Plain TCP on such a path gets a few Mbit/s at best, so the
 * direct leg sends for as long as the tunnel takes, and reports what it got through.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Logger } from 'pino';
import { formatHostPort, type HostPort } from '../io/address.ts';
import { ImpairmentProxy } from '../lab/impairmentProxy.ts';
import { kernelTcpUnavailable } from '../lab/namespaceLink.ts';
import { SessionLoop } from '../io/sessionLoop.ts';
import { sessionCore, startRelay, type Relay } from '../relay/startRelay.ts';
import { transPacific, type PathSpec } from '../sim/network.ts';
import {
  BERING,
  DIRECT,
  LiveLines,
  NAME_WIDTH,
  TCP_CAP_MS,
  describeDirect,
  drops,
  mathisMbps,
  mbps,
  mib,
  percent,
  verdict,
  wrap,
  type DemoSettings,
  type Meter,
  type TcpOutcome,
  type TransferResult,
} from './demoReport.ts';
import { DirectTcpLeg, TCP_CC } from './demoTcp.ts';
import { CliError, usageError } from './errors.ts';
import { KEY_BYTES } from './key.ts';
import { createLogger } from './logger.ts';
import { parseStrict } from './relayOptions.ts';

const DEMO_USAGE = `Usage: bering demo [options]

Runs an entry relay, an exit relay, an emulated trans-Pacific path between them and a TCP sink
as the service, all on loopback, and sends a payload through. At the same time, plain Linux TCP
crosses an identical emulated path between two network namespaces (needs root, ip and socat),
for a live comparison.

Options:
  --size MIB        payload size through bering in MiB (default 64); direct TCP sends for as long
  --loss PERCENT    random loss each way (default 3)
  --delay-ms MS     one-way delay (default 90)
  --rate-mbps MBPS  bottleneck rate each way (default 100)
  --seed N          seed of the emulated loss (default 1)
  --no-tcp          skip the direct TCP comparison
  -h, --help        show this help

Logs (LOG_LEVEL, default warn) go to stderr.`;

const DEMO_FLAGS = {
  size: { type: 'string' },
  loss: { type: 'string' },
  'delay-ms': { type: 'string' },
  'rate-mbps': { type: 'string' },
  seed: { type: 'string' },
  'no-tcp': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A stall longer than this aborts the demo: something is broken, not slow. */
const STALL_LIMIT_MS = 30_000;

/**
 * Runs the demo; resolves with the exit status (1 when bytes arrived damaged). SIGINT and SIGTERM
 * stop it, with everything it started, and exit 130.
 */
export async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseStrict(args, DEMO_FLAGS);
  if (values.help) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return 0;
  }
  const settings: DemoSettings = {
    bytes: Math.round(number(values.size, 64, '--size', 1 / 1024, 1 << 20) * 1024 * 1024),
    lossRate: number(values.loss, 3, '--loss', 0, 50) / 100,
    delayMs: number(values['delay-ms'], 90, '--delay-ms', 0, 2000),
    rateMbps: number(values['rate-mbps'], 100, '--rate-mbps', 1, 10_000),
    seed: Math.trunc(number(values.seed, 1, '--seed', 0, 2 ** 32 - 1)),
  };
  const path = transPacific({ lossRate: settings.lossRate, rateMbps: settings.rateMbps });
  path.aToB.delayMs = settings.delayMs;
  path.bToA.delayMs = settings.delayMs;

  const abort = new AbortController();
  // Kept until the cleanup is done: a second Ctrl-C must not cut it short and leave namespaces.
  const onSignal = (signal: NodeJS.Signals): void => {
    abort.abort(new CliError(`interrupted by ${signal}; everything the demo started is stopped`, 130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runDemo(settings, path, values['no-tcp'] !== true, abort.signal, process.stdout);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function runDemo(s: DemoSettings, path: PathSpec, compareTcp: boolean, signal: AbortSignal, out: NodeJS.WriteStream): Promise<number> {
  const log = createLogger('warn');
  let tcp: DirectTcpLeg | null = null;
  let setup: Setup | null = null;
  let live: LiveLines | null = null;
  let capTimer: NodeJS.Timeout | undefined;
  try {
    let skipped = compareTcp ? await kernelTcpUnavailable(TCP_CC) : 'turned off with --no-tcp';
    signal.throwIfAborted();
    if (skipped === null) {
      try {
        tcp = await DirectTcpLeg.start({ ...path, seed: s.seed });
      } catch (err) {
        // Failed commands quote their stderr over several lines: the reason stays one line.
        skipped = `could not set up its network namespaces: ${(err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ')}`;
      }
    }
    signal.throwIfAborted();
    setup = await Setup.start(s, path, log);
    signal.throwIfAborted();

    out.write(
      `Emulated path: ${s.delayMs} ms one-way (${2 * s.delayMs} ms RTT), ${percent(s.lossRate)} loss, ${s.rateMbps} Mbit/s, ` +
        `${path.aToB.queueMs} ms queue, both ways${tcp === null ? '' : '; each leg crosses its own copy (same seed)'}\n` +
        `  ${`${BERING}:`.padEnd(NAME_WIDTH)} client -> entry relay ${formatHostPort(setup.entry.tcpAddress!)} ~~UDP~~> ` +
        `proxy ${formatHostPort(setup.proxy.address)} ~~> exit relay ${formatHostPort(setup.exit.udpAddresses[0])} -> sink ${formatHostPort(setup.sink.address)}\n`,
    );
    if (tcp !== null) {
      out.write(`  ${`${DIRECT}:`.padEnd(NAME_WIDTH)} ${tcp.describe()}\n`);
    } else {
      out.write(`Direct TCP comparison skipped: ${skipped}.\n`);
      const mathis = mathisMbps(2 * s.delayMs, s.lossRate);
      if (mathis !== null) {
        out.write(`  (one plain TCP Reno flow on this path: about ${mathis.toFixed(2)} Mbit/s, by the Mathis formula)\n`);
      }
    }
    await setup.waitConnected(signal);
    out.write(`Sending ${mib(s.bytes)} MiB through bering${tcp === null ? '' : '; direct TCP sends alongside for as long'}.\n`);

    const meters: Meter[] = [{ name: BERING, total: s.bytes, delivered: () => setup!.sink.received, stopped: () => false }];
    if (tcp !== null) {
      const leg = tcp;
      meters.push({ name: DIRECT, total: null, delivered: () => leg.delivered(), stopped: () => leg.finished });
      leg.begin();
      capTimer = setTimeout(() => void leg.finish(), TCP_CAP_MS);
    }
    live = new LiveLines(meters, out);
    const bering = await transfer(setup.entry.tcpAddress!, setup.sink, s.bytes, signal);
    const direct = tcp === null ? null : await tcp.finish();
    live.stop();

    const beringOk = bering.sentSha256 === bering.receivedSha256;
    out.write(
      `${`${BERING}:`.padEnd(NAME_WIDTH)} ${mib(bering.bytes)} MiB in ${bering.seconds.toFixed(1)} s = ` +
        `${mbps(bering.bytes, bering.seconds).toFixed(1)} Mbit/s goodput, SHA-256 ${beringOk ? 'match' : 'MISMATCH'} (${bering.receivedSha256.slice(0, 16)}...)\n`,
    );
    if (direct !== null) out.write(`${`${DIRECT}:`.padEnd(NAME_WIDTH)} ${describeDirect(direct)}\n`);
    out.write(`${drops(BERING, 'datagrams', setup.proxy.stats())}\n`);
    if (tcp !== null) {
      const { deviceDrops, ...link } = await tcp.linkStats();
      const tun = deviceDrops > 0 ? ` The TUN devices dropped ${deviceDrops} more packets, outside the link model.` : '';
      out.write(`${drops(DIRECT, 'packets', link)}${tun}\n`);
    }
    const outcome: TcpOutcome = direct !== null ? { measured: direct } : { skipped: skipped! };
    out.write(`\n${wrap(verdict(s, bering, outcome), Math.min(out.columns || 100, 100))}\n`);
    const directOk = direct === null || direct.receivedSha256 === direct.sentSha256;
    return beringOk && directOk ? 0 : 1;
  } finally {
    live?.stop();
    clearTimeout(capTimer);
    await Promise.all([setup?.close(), tcp?.close()]);
  }
}

/** The sink, both relays and the proxy, on loopback. */
class Setup {
  private constructor(
    readonly sink: Sink,
    readonly exit: Relay,
    readonly proxy: ImpairmentProxy,
    readonly entry: Relay,
  ) {}

  static async start(s: DemoSettings, path: PathSpec, log: Logger): Promise<Setup> {
    const loopback = { host: '127.0.0.1', port: 0 };
    const core = sessionCore(randomBytes(KEY_BYTES));
    // One loop for both relays: the demo is one process, like a real relay.
    const loop = new SessionLoop();
    const sink = await Sink.start();
    const started: Array<() => unknown> = [() => sink.close()];
    try {
      const exit = await startRelay({ tcp: { forward: sink.address }, udp: { listen: [loopback] }, core, log, loop });
      started.push(() => exit.stop(0));
      const proxy = await ImpairmentProxy.start({ listen: loopback, target: exit.udpAddresses[0], ...path, seed: s.seed });
      started.push(() => proxy.close());
      const entry = await startRelay({ tcp: { listen: loopback }, udp: { peers: [proxy.address] }, core, log, loop });
      return new Setup(sink, exit, proxy, entry);
    } catch (err) {
      for (const stop of started.reverse()) await stop();
      throw err;
    }
  }

  /** Resolves once the tunnel's handshake is done, so the timing covers the transfer only. */
  async waitConnected(signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + STALL_LIMIT_MS;
    while (this.entry.transport.activeSession === null) {
      signal.throwIfAborted();
      if (Date.now() > deadline) throw new CliError('the relays did not connect to each other');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    await this.entry.stop(0);
    await this.exit.stop(0);
    this.proxy.close();
    await this.sink.close();
  }
}

/** The "service": a TCP server that hashes and counts what each connection sends, then closes. */
class Sink {
  /** Bytes received on the current connection (read live by the progress line). */
  received = 0;
  private finished: ((sha256: string) => void) | null = null;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {
    server.on('connection', (socket) => {
      const hash = createHash('sha256');
      this.received = 0;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('data', (b: Buffer) => {
        this.received += b.length;
        hash.update(b);
      });
      socket.on('end', () => {
        socket.end();
        this.finished?.(hash.digest('hex'));
      });
      socket.on('error', () => {
        // A broken transfer shows up as a stall or a short count at the client.
      });
    });
  }

  static async start(): Promise<Sink> {
    const server = net.createServer({ allowHalfOpen: true });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    return new Sink(server);
  }

  get address(): HostPort {
    return { host: '127.0.0.1', port: (this.server.address() as net.AddressInfo).port };
  }

  /** Resolves with the SHA-256 of the next connection's bytes once it ends. */
  nextDigest(): Promise<string> {
    return new Promise((ok) => {
      this.finished = ok;
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}

/**
 * Sends `bytes` random bytes to the sink through the entry relay at `target`. Rejects when the
 * connection fails, nothing arrives for {@link STALL_LIMIT_MS}, or `signal` aborts.
 */
async function transfer(target: HostPort, sink: Sink, bytes: number, signal: AbortSignal): Promise<TransferResult> {
  const digest = sink.nextDigest();
  const sent = createHash('sha256');
  const started = performance.now();
  const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
  const failed = new Promise<never>((_, fail) => {
    socket.on('error', (err) => fail(new CliError(`${BERING}: connection failed: ${err.message}`)));
  });
  let written = 0;
  const writeMore = (): void => {
    while (written < bytes) {
      const chunk = randomBytes(Math.min(64 * 1024, bytes - written));
      sent.update(chunk);
      written += chunk.length;
      if (!socket.write(chunk)) return;
    }
    socket.end();
  };
  socket.on('connect', writeMore);
  socket.on('drain', writeMore);
  socket.resume();

  let watchdog: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, fail) => {
    let last = -1;
    let lastChangeAt = performance.now();
    watchdog = setInterval(() => {
      if (sink.received !== last) {
        last = sink.received;
        lastChangeAt = performance.now();
      } else if (performance.now() - lastChangeAt > STALL_LIMIT_MS) {
        fail(new CliError(`${BERING}: no progress for ${STALL_LIMIT_MS / 1000} s`));
      }
    }, 250);
  });
  try {
    const receivedSha256 = await Promise.race([digest, failed, stalled, aborted(signal)]);
    const seconds = (performance.now() - started) / 1000;
    return { bytes: sink.received, seconds, sentSha256: sent.digest('hex'), receivedSha256 };
  } finally {
    clearInterval(watchdog);
    socket.destroy();
  }
}

/** Rejects with the abort reason once `signal` aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, fail) => {
    if (signal.aborted) fail(signal.reason);
    else signal.addEventListener('abort', () => fail(signal.reason), { once: true });
  });
}

function number(text: string | undefined, fallback: number, what: string, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw usageError(`${what}: '${text}' is not a number from ${min} to ${max}`);
  }
  return n;
}
