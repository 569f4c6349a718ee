/**
 * `bering demo` (`npm start`): the whole system on one machine. A TCP sink plays the service, an
 * exit relay forwards to it, an impairment proxy emulates a trans-Pacific path (90 ms one-way,
 * 3% loss, 100 Mbit/s, 60 ms queue), and an entry relay dials the exit relay through it. A client
 * pushes a random payload through the entry relay while a live line shows progress; the summary
 * gives goodput and whether the SHA-256 at the sink matches what was sent.
 *
 * Each way of crossing the path is a {@link Leg}: today the tunnel; a direct TCP leg over the same
 * emulated path can be added to `legs` to compare live.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Logger } from 'pino';
import { formatHostPort, type HostPort } from '../io/address.ts';
import { ImpairmentProxy } from '../io/impairmentProxy.ts';
import { SessionLoop } from '../io/sessionLoop.ts';
import { sessionCore, startRelay, type Relay } from '../relay/startRelay.ts';
import { transPacific } from '../sim/network.ts';
import { CliError, usageError } from './errors.ts';
import { KEY_BYTES } from './key.ts';
import { createLogger } from './logger.ts';
import { parseStrict } from './relayOptions.ts';

const DEMO_USAGE = `Usage: bering demo [options]

Runs an entry relay, an exit relay, an emulated trans-Pacific path between them and a TCP sink
as the service, all on loopback, and sends a payload through.

Options:
  --size MIB        payload size in MiB (default 64)
  --loss PERCENT    random loss each way (default 3)
  --delay-ms MS     one-way delay (default 90)
  --rate-mbps MBPS  bottleneck rate each way (default 100)
  --seed N          seed of the emulated loss (default 1)
  -h, --help        show this help

Logs (LOG_LEVEL, default warn) go to stderr.`;

const DEMO_FLAGS = {
  size: { type: 'string' },
  loss: { type: 'string' },
  'delay-ms': { type: 'string' },
  'rate-mbps': { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The emulated path and payload. */
interface DemoSettings {
  bytes: number;
  lossRate: number;
  delayMs: number;
  rateMbps: number;
  seed: number;
}

/** One way across the emulated path: where the client connects to reach the sink. */
interface Leg {
  name: string;
  target: HostPort;
}

/** What a transfer achieved. */
interface TransferResult {
  bytes: number;
  seconds: number;
  sentSha256: string;
  receivedSha256: string;
}

/** A stall longer than this aborts the demo: something is broken, not slow. */
const STALL_LIMIT_MS = 30_000;

/** Runs the demo; resolves with the exit status (1 when the payload arrived damaged). */
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
  const log = createLogger('warn');
  const out = process.stdout;

  const setup = await Setup.start(settings, log);
  try {
    const lossText = `${(settings.lossRate * 100).toFixed(1)}% loss`;
    out.write(
      `Emulated path: ${settings.delayMs} ms one-way (${2 * settings.delayMs} ms RTT), ${lossText}, ` +
        `${settings.rateMbps} Mbit/s, 60 ms queue, both ways\n` +
        `  client -> entry relay ${formatHostPort(setup.entry.tcpAddress!)} ~~UDP~~> ` +
        `proxy ${formatHostPort(setup.proxy.address)} ~~> exit relay ${formatHostPort(setup.exit.udpAddresses[0])} -> sink ${formatHostPort(setup.sink.address)}\n`,
    );
    const mathis = mathisMbps(2 * settings.delayMs, settings.lossRate);
    if (mathis !== null) {
      out.write(`  (one plain TCP Reno flow on this path: about ${mathis.toFixed(2)} Mbit/s, by the Mathis formula)\n`);
    }
    await setup.waitConnected();

    const legs: Leg[] = [{ name: 'bering tunnel', target: setup.entry.tcpAddress! }];
    let ok = true;
    for (const leg of legs) {
      const r = await transfer(leg, setup.sink, settings.bytes, out);
      const match = r.sentSha256 === r.receivedSha256;
      ok &&= match;
      out.write(
        `${leg.name}: ${mib(r.bytes)} MiB in ${r.seconds.toFixed(1)} s = ${mbps(r.bytes, r.seconds).toFixed(1)} Mbit/s goodput, ` +
          `SHA-256 ${match ? 'match' : 'MISMATCH'} (${r.receivedSha256.slice(0, 16)}...)\n`,
      );
    }
    const { aToB, bToA } = setup.proxy.stats();
    const lost = (s: typeof aToB) => s.droppedLoss + s.droppedQueue + s.droppedBlackout;
    out.write(
      `Emulated path dropped ${lost(aToB)} of ${aToB.sent} datagrams one way and ${lost(bToA)} of ${bToA.sent} the other ` +
        `(${aToB.droppedQueue + bToA.droppedQueue} of them at the queue).\n`,
    );
    return ok ? 0 : 1;
  } finally {
    await setup.close();
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

  static async start(s: DemoSettings, log: Logger): Promise<Setup> {
    const loopback = { host: '127.0.0.1', port: 0 };
    const core = sessionCore(randomBytes(KEY_BYTES));
    // One loop for both relays: the demo is one process, like a real relay.
    const loop = new SessionLoop();
    const sink = await Sink.start();
    const exit = await startRelay({ tcp: { forward: sink.address }, udp: { listen: [loopback] }, core, log, loop });
    const path = transPacific({ lossRate: s.lossRate, rateMbps: s.rateMbps });
    path.aToB.delayMs = s.delayMs;
    path.bToA.delayMs = s.delayMs;
    const proxy = await ImpairmentProxy.start({ listen: loopback, target: exit.udpAddresses[0], ...path, seed: s.seed });
    const entry = await startRelay({ tcp: { listen: loopback }, udp: { peers: [proxy.address] }, core, log, loop });
    return new Setup(sink, exit, proxy, entry);
  }

  /** Resolves once the tunnel's handshake is done, so the timing covers the transfer only. */
  async waitConnected(): Promise<void> {
    const deadline = Date.now() + STALL_LIMIT_MS;
    while (this.entry.transport.activeSession === null) {
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

/** Sends `bytes` random bytes through `leg` to the sink, showing progress on `out`. */
async function transfer(leg: Leg, sink: Sink, bytes: number, out: NodeJS.WriteStream): Promise<TransferResult> {
  const digest = sink.nextDigest();
  const sent = createHash('sha256');
  const started = performance.now();
  const socket = net.connect({ host: leg.target.host, port: leg.target.port, allowHalfOpen: true });
  const failed = new Promise<never>((_, fail) => {
    socket.on('error', (err) => fail(new CliError(`${leg.name}: connection failed: ${err.message}`)));
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

  const progress = new Progress(leg.name, bytes, () => sink.received, out);
  try {
    const receivedSha256 = await Promise.race([digest, failed, progress.stalled()]);
    const seconds = (performance.now() - started) / 1000;
    progress.stop();
    return { bytes: sink.received, seconds, sentSha256: sent.digest('hex'), receivedSha256 };
  } finally {
    progress.stop();
    socket.destroy();
  }
}

/** The live progress line: rewritten in place on a terminal, one line every 5 s otherwise. */
class Progress {
  private readonly timer: NodeJS.Timeout;
  private readonly started = performance.now();
  /** Recent (time, bytes) samples: the "now" rate spans about a second, smoothing bursts. */
  private readonly samples: Array<{ at: number; bytes: number }> = [];
  private lastBytes = 0;
  private lastChangeAt = performance.now();
  private lastPrintAt = 0;
  private stalledFail: ((err: Error) => void) | null = null;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly total: number,
    private readonly done: () => number,
    private readonly out: NodeJS.WriteStream,
  ) {
    this.timer = setInterval(() => this.tick(), 250);
  }

  /** Rejects when no byte arrived for {@link STALL_LIMIT_MS}. */
  stalled(): Promise<never> {
    return new Promise((_, fail) => {
      this.stalledFail = fail;
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    if (this.out.isTTY) this.out.write('\r\x1b[K');
  }

  private tick(): void {
    const now = performance.now();
    const bytes = this.done();
    if (bytes !== this.lastBytes) this.lastChangeAt = now;
    if (now - this.lastChangeAt > STALL_LIMIT_MS) {
      this.stalledFail?.(new CliError(`${this.name}: no progress for ${STALL_LIMIT_MS / 1000} s`));
    }
    this.lastBytes = bytes;
    this.samples.push({ at: now, bytes });
    if (this.samples.length > 5) this.samples.shift();
    const oldest = this.samples[0];
    const recent = mbps(bytes - oldest.bytes, (now - oldest.at) / 1000);
    const average = mbps(bytes, (now - this.started) / 1000);
    const line =
      `${this.name}: ${mib(bytes)} / ${mib(this.total)} MiB  ` +
      `${recent.toFixed(1).padStart(6)} Mbit/s now  ${average.toFixed(1).padStart(6)} Mbit/s average`;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[K${line}`);
    } else if (now - this.lastPrintAt >= 5000) {
      this.lastPrintAt = now;
      this.out.write(`${line}\n`);
    }
  }
}

/**
 * Throughput bound of one Reno-style TCP flow, 1.22 * MSS / (RTT * sqrt(p)) (Mathis et al.,
 * 1997), with a 1448-byte MSS; null without loss or delay, where the formula says nothing.
 */
function mathisMbps(rttMs: number, lossRate: number): number | null {
  if (lossRate <= 0 || rttMs <= 0) return null;
  return (1.22 * 1448 * 8) / ((rttMs / 1000) * Math.sqrt(lossRate)) / 1e6;
}

function mbps(bytes: number, seconds: number): number {
  return seconds > 0 ? (bytes * 8) / seconds / 1e6 : 0;
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

function number(text: string | undefined, fallback: number, what: string, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw usageError(`${what}: '${text}' is not a number from ${min} to ${max}`);
  }
  return n;
}
