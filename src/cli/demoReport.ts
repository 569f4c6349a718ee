/**
 * What `bering demo` prints: the live line per leg while it runs, and the summary after, a
 * verdict built from measured numbers only.
 */
import type { LinkStats } from '../sim/link.ts';
import { TCP_CC, type DirectTcpResult } from './demoTcp.ts';

/** The emulated path and payload. */
export interface DemoSettings {
  bytes: number;
  lossRate: number;
  delayMs: number;
  rateMbps: number;
  seed: number;
}

/** What the tunnel transfer achieved. */
export interface TransferResult {
  bytes: number;
  seconds: number;
  sentSha256: string;
  receivedSha256: string;
}

/** The direct TCP leg: measured, or why not (the verdict then quotes the Mathis estimate). */
export type TcpOutcome = { measured: DirectTcpResult } | { skipped: string };

/** One leg's live line. */
export interface Meter {
  name: string;
  /** Bytes the leg is to deliver, or null when it just runs. */
  total: number | null;
  delivered(): number;
  stopped(): boolean;
}

/** The direct TCP leg stops here even if the tunnel is still sending (a huge `--size`). */
export const TCP_CAP_MS = 120_000;
export const BERING = 'bering tunnel';
export const DIRECT = 'direct TCP';
export const NAME_WIDTH = Math.max(BERING.length, DIRECT.length) + 1;

/**
 * The live progress lines, one per leg: rewritten in place on a terminal, printed every 5 s
 * otherwise.
 */
export class LiveLines {
  private readonly timer: NodeJS.Timeout;
  private readonly started = performance.now();
  /** Per meter, recent (time, bytes) samples: the "now" rate spans about a second, smoothing bursts. */
  private readonly samples: Array<Array<{ at: number; bytes: number }>>;
  private lastPrintAt = performance.now();
  /** Lines on screen (terminal only), so the next draw starts at the first. */
  private drawn = 0;
  private stopped = false;

  constructor(
    private readonly meters: Meter[],
    private readonly out: NodeJS.WriteStream,
  ) {
    this.samples = meters.map(() => []);
    this.timer = setInterval(() => this.tick(), 250);
  }

  /** Stops updating and, on a terminal, clears the lines for the summary. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    if (this.drawn > 0) this.out.write(`${this.toFirstLine()}\x1b[J`);
  }

  private tick(): void {
    const now = performance.now();
    const lines = this.meters.map((m, i) => this.line(m, this.samples[i], now));
    if (this.out.isTTY) {
      // A line wider than the terminal would wrap, and the cursor would no longer find the first.
      const width = (this.out.columns || 80) - 1;
      this.out.write(`${this.toFirstLine()}${lines.map((l) => `\x1b[K${l.slice(0, width)}`).join('\n')}`);
      this.drawn = lines.length;
    } else if (now - this.lastPrintAt >= 5000) {
      this.lastPrintAt = now;
      this.out.write(`${lines.join('\n')}\n`);
    }
  }

  private toFirstLine(): string {
    return this.drawn > 1 ? `\r\x1b[${this.drawn - 1}A` : '\r';
  }

  private line(m: Meter, samples: Array<{ at: number; bytes: number }>, now: number): string {
    const bytes = m.delivered();
    samples.push({ at: now, bytes });
    if (samples.length > 5) samples.shift();
    const oldest = samples[0];
    const recent = mbps(bytes - oldest.bytes, (now - oldest.at) / 1000);
    const average = mbps(bytes, (now - this.started) / 1000);
    const amount = m.total === null ? `${mib(bytes)} MiB` : `${mib(bytes)} / ${mib(m.total)} MiB`;
    const rates = m.stopped() ? 'stopped' : `${rate(recent).padStart(6)} Mbit/s now  ${rate(average).padStart(6)} Mbit/s average`;
    return `${m.name.padEnd(NAME_WIDTH)} ${amount.padStart(16)}  ${rates}`;
  }
}

export function describeDirect(r: DirectTcpResult): string {
  const got = `${mib(r.bytes)} MiB in ${r.seconds.toFixed(1)} s = ${rate(mbps(r.bytes, r.seconds))} Mbit/s goodput`;
  const check =
    r.bytes === 0
      ? 'nothing arrived to check'
      : r.receivedSha256 === r.sentSha256
        ? `SHA-256 of the ${mib(r.bytes)} MiB received matches what was sent (${r.receivedSha256.slice(0, 16)}...)`
        : `SHA-256 of the ${mib(r.bytes)} MiB received does NOT match what was sent`;
  return `${got}, ${check}${r.failure === null ? '' : `; it broke off early: ${r.failure}`}`;
}

export function drops(leg: string, unit: string, s: { aToB: LinkStats; bToA: LinkStats }): string {
  const lost = (d: LinkStats): number => d.droppedLoss + d.droppedQueue + d.droppedBlackout;
  return (
    `Emulated path (${leg}) dropped ${lost(s.aToB)} of ${s.aToB.sent} ${unit} one way and ${lost(s.bToA)} of ${s.bToA.sent} the other ` +
    `(${s.aToB.droppedQueue + s.bToA.droppedQueue} of them at the queue).`
  );
}

/** The closing paragraph: measured numbers only, and why they differ. */
export function verdict(s: DemoSettings, b: TransferResult, tcp: TcpOutcome): string {
  const beringMbps = mbps(b.bytes, b.seconds);
  const limit = s.rateMbps * (1 - s.lossRate);
  const limitText =
    s.lossRate > 0 ? `the ${limit.toFixed(1)} Mbit/s this link can deliver after its ${percent(s.lossRate)} loss (C*(1-p))` : `the link's ${limit.toFixed(1)} Mbit/s`;
  const parts = [
    `Verdict: bering carried ${mib(b.bytes)} MiB at ${beringMbps.toFixed(1)} Mbit/s, ${Math.round((100 * beringMbps) / limit)}% of ${limitText}, and its SHA-256 ` +
      `${b.sentSha256 === b.receivedSha256 ? 'matched' : 'did NOT match'} at the sink.`,
  ];
  let tcpMbps: number | null = null;
  if ('measured' in tcp) {
    const t = tcp.measured;
    tcpMbps = mbps(t.bytes, t.seconds);
    const span =
      t.seconds < b.seconds - 0.5 ? `for its first ${t.seconds.toFixed(1)} s (it stops at ${TCP_CAP_MS / 1000} s)` : `for the same ${t.seconds.toFixed(1)} s`;
    const alongside = `Direct kernel TCP (${TCP_CC}), sending alongside on its own copy of the path ${span},`;
    if (t.failure !== null) {
      parts.push(`${alongside} broke off (${t.failure}) after ${mib(t.bytes)} MiB, so this run has no fair comparison.`);
      tcpMbps = null;
    } else if (t.bytes === 0) {
      parts.push(`${alongside} got nothing through.`);
    } else {
      const intact = t.receivedSha256 === t.sentSha256 ? 'every byte as sent (SHA-256 of that prefix matched)' : 'but DAMAGED (SHA-256 of that prefix did not match)';
      parts.push(`${alongside} got ${mib(t.bytes)} MiB through at ${rate(tcpMbps)} Mbit/s, ${intact}: ${faster(beringMbps, tcpMbps)}.`);
    }
  } else {
    const mathis = mathisMbps(2 * s.delayMs, s.lossRate);
    parts.push(
      mathis === null
        ? `Direct TCP was not measured (${tcp.skipped}).`
        : `Direct TCP was not measured (${tcp.skipped}); by the Mathis formula one Reno flow would get about ${mathis.toFixed(2)} Mbit/s ` +
            `on this path, ${ratio(beringMbps, mathis)}x less than bering (an estimate, not a measurement).`,
    );
    tcpMbps = mathis;
  }
  if (s.lossRate === 0) {
    parts.push(
      "With no random loss, TCP's window is cut only when the bottleneck queue overflows, so any gap here comes from ramping up over the long round trip, not from loss.",
    );
  } else if (tcpMbps === null || beringMbps >= 1.5 * tcpMbps) {
    parts.push(
      `TCP reads every lost packet as congestion and cuts its window, so at ${percent(s.lossRate)} random loss and ${2 * s.delayMs} ms RTT ` +
        'it stays far below the link rate; bering repairs loss with forward error correction (and retransmits the rest), and paces at ' +
        'the rate the path delivers, backing off only when a queue builds.',
    );
  } else {
    parts.push("Here TCP kept up: bering's advantage shows where random loss keeps cutting TCP's window.");
  }
  return parts.join(' ');
}

export function faster(beringMbps: number, tcpMbps: number): string {
  return beringMbps >= tcpMbps ? `bering was ${ratio(beringMbps, tcpMbps)}x faster` : `TCP was ${ratio(tcpMbps, beringMbps)}x faster`;
}

export function ratio(a: number, b: number): string {
  const r = a / b;
  return r >= 10 ? r.toFixed(0) : r.toFixed(1);
}

/** Breaks `text` into lines of at most `width` characters, at spaces. */
export function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

/**
 * Throughput bound of one Reno-style TCP flow, 1.22 * MSS / (RTT * sqrt(p)) (Mathis et al.,
 * 1997), with a 1448-byte MSS; null without loss or delay, where the formula says nothing.
 */
export function mathisMbps(rttMs: number, lossRate: number): number | null {
  if (lossRate <= 0 || rttMs <= 0) return null;
  return (1.22 * 1448 * 8) / ((rttMs / 1000) * Math.sqrt(lossRate)) / 1e6;
}

export function mbps(bytes: number, seconds: number): number {
  return seconds > 0 ? (bytes * 8) / seconds / 1e6 : 0;
}

/** Mbit/s with one decimal, two below 10 Mbit/s (plain TCP's range here). */
export function rate(mbitPerSecond: number): string {
  return mbitPerSecond.toFixed(mbitPerSecond < 10 ? 2 : 1);
}

/** MiB with one decimal, two below 10 MiB (what plain TCP gets through is often under 1 MiB). */
export function mib(bytes: number): string {
  const n = bytes / (1024 * 1024);
  return n.toFixed(n < 10 ? 2 : 1);
}

export function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}
