/**
 * Where a live stream's delay goes (issue 13): each chunk's time from the source's stamp to the
 * viewer, split at the stages both relays trace (`BERING_STREAM_TRACE`, src/io/streamTrace.ts):
 *
 * - ingress: the source's TCP into the sending relay, until the relay wrote the chunk's last byte
 *   into the tunnel;
 * - sender: in the sending relay's stream buffer, waiting for the scheduler, the pacer or the
 *   congestion window, until that byte first left;
 * - flight: until it first reached the receiving relay (the wire, the receiving host's socket; a
 *   resend when that packet was lost, or the FEC group's repairs when they restored it);
 * - repair: until everything before it had come too, so the relay read it in order (holes left
 *   by loss and reordering: FEC repairs, retransmissions);
 * - egress: the receiving relay's TCP to the viewer.
 *
 * Times are the host's monotonic clock (bench/workload.ts's monotonicMs), so the relays and the
 * endpoints run on one host.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart } from './svg.ts';

export const STAGES = ['ingress', 'sender', 'flight', 'repair', 'egress'] as const;
/** A relay writes its trace at least once a second (io/streamTrace.ts): wait this long before reading it. */
export const TRACE_FLUSH_WAIT_MS = 1200;
export type Stage = (typeof STAGES)[number];

/** First time each stream's mark reached each stage, from one relay's trace file. */
export type StreamTrace = Map<string, Map<number, Map<number, number>>>;

/** Reads a trace file: stage -> stream -> mark offset -> first time (monotonic ms). */
export function readStreamTrace(file: string): StreamTrace {
  const trace: StreamTrace = new Map();
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const [stage, stream, offset, time] = line.split(',');
    let byStream = trace.get(stage);
    if (byStream === undefined) trace.set(stage, (byStream = new Map()));
    const id = Number(stream);
    let marks = byStream.get(id);
    if (marks === undefined) byStream.set(id, (marks = new Map()));
    const mark = Number(offset);
    const at = Number(time);
    const seen = marks.get(mark);
    if (seen === undefined || at < seen) marks.set(mark, at);
  }
  return trace;
}

/** One chunk the viewer received: its source stamp and arrival, monotonic ms. */
export interface StampedChunk {
  stampedAt: number;
  arrivedAt: number;
}

/** A chunk's delay and its parts (ms); NaN where a relay's trace lacks the mark. */
export interface ChunkBreakdown {
  index: number;
  /** Seconds into the stream it was stamped at (0 for the first). */
  second: number;
  total: number;
  parts: Record<Stage, number>;
  /** Its last byte first reached the receiver in a packet FEC restored. */
  restored: boolean;
}

export interface DelayBreakdown {
  streamId: number;
  chunks: ChunkBreakdown[];
  /** p50 / p99 / max of each stage over all chunks, and of the total. */
  summary: Record<Stage | 'total', { p50: number; p99: number; max: number }>;
  /** The worst chunk of each second of the stream. */
  worstPerSecond: ChunkBreakdown[];
}

function marksOf(trace: StreamTrace, stage: string, streamId: number): Map<number, number> {
  return trace.get(stage)?.get(streamId) ?? new Map();
}

/**
 * The stream the viewer's `chunkCount` chunks of `chunkBytes` (a multiple of the trace's 16 KiB
 * marks) came on: of the streams read no earlier than `after` whose reads at the receiver reach
 * that far, the one with the fewest marks (a download beside it is the larger); null if none
 * does. One TCP connection is one stream, from offset 0.
 */
export function findStream(receiver: StreamTrace, chunkCount: number, chunkBytes: number, after = -Infinity): number | null {
  let best: number | null = null;
  let bestCount = Infinity;
  for (const [id, marks] of receiver.get('read') ?? []) {
    let count = 0;
    let first = Infinity;
    for (const [mark, at] of marks) {
      if (mark % chunkBytes === 0) count++;
      if (at < first) first = at;
    }
    if (first < after) continue;
    if (count >= chunkCount && marks.has(chunkCount * chunkBytes) && count < bestCount) {
      best = id;
      bestCount = count;
    }
  }
  return best;
}

function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const at = (q: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  return { p50: at(0.5), p99: at(0.99), max: sorted.length === 0 ? NaN : sorted[sorted.length - 1] };
}

/**
 * Splits each chunk's delay at the stages the sending and receiving relays traced for stream
 * `streamId`. Chunk i ends at stream offset (i + 1) * chunkBytes.
 */
export function breakDown(chunks: StampedChunk[], chunkBytes: number, streamId: number, sender: StreamTrace, receiver: StreamTrace): DelayBreakdown {
  const written = marksOf(sender, 'written', streamId);
  const sent = marksOf(sender, 'sent', streamId);
  const arrived = marksOf(receiver, 'arrived', streamId);
  const restored = marksOf(receiver, 'restored', streamId);
  const read = marksOf(receiver, 'read', streamId);
  const start = chunks.length > 0 ? chunks[0].stampedAt : 0;
  const out: ChunkBreakdown[] = chunks.map((c, index) => {
    const mark = (index + 1) * chunkBytes;
    const inAt = written.get(mark) ?? NaN;
    const outAt = sent.get(mark) ?? NaN;
    const wire = arrived.get(mark) ?? Infinity;
    const fec = restored.get(mark) ?? Infinity;
    const reachedAt = Math.min(wire, fec);
    const readAt = read.get(mark) ?? NaN;
    const reached = Number.isFinite(reachedAt) ? reachedAt : NaN;
    return {
      index,
      second: Math.floor((c.stampedAt - start) / 1000),
      total: c.arrivedAt - c.stampedAt,
      parts: { ingress: inAt - c.stampedAt, sender: outAt - inAt, flight: reached - outAt, repair: readAt - reached, egress: c.arrivedAt - readAt },
      restored: fec < wire,
    };
  });
  const summary = { total: percentiles(out.map((c) => c.total)) } as DelayBreakdown['summary'];
  for (const stage of STAGES) summary[stage] = percentiles(out.map((c) => c.parts[stage]));
  const worstPerSecond: ChunkBreakdown[] = [];
  for (const c of out) if (worstPerSecond[c.second] === undefined || c.total > worstPerSecond[c.second].total) worstPerSecond[c.second] = c;
  return { streamId, chunks: out, summary, worstPerSecond: worstPerSecond.filter((c) => c !== undefined) };
}

/**
 * The breakdown of a stream `direction` ('down': the exit relay sent it) from the relays' traces
 * in `dir` (exit.csv, entry.csv): the stream is the one whose chunks the receiver read (from
 * `after` on, when the relays carried others before).
 */
export function breakDownRelays(dir: string, direction: 'down' | 'up', chunks: StampedChunk[], chunkBytes: number, after?: number): DelayBreakdown {
  const sender = readStreamTrace(join(dir, direction === 'down' ? 'exit.csv' : 'entry.csv'));
  const receiver = readStreamTrace(join(dir, direction === 'down' ? 'entry.csv' : 'exit.csv'));
  const streamId = findStream(receiver, chunks.length, chunkBytes, after);
  if (streamId === null) throw new Error(`no stream of ${chunks.length} chunks in the relays' traces in ${dir}`);
  return breakDown(chunks, chunkBytes, streamId, sender, receiver);
}

/**
 * The chunks a bench receiver reported (`delays` and `stamps` of a ReceiveResult), up to the first
 * missing one: what {@link breakDown} splits.
 */
export function stampedChunks(delays: ReadonlyArray<number | null>, stamps: ReadonlyArray<number | null>): StampedChunk[] {
  const chunks: StampedChunk[] = [];
  for (let i = 0; i < delays.length; i++) {
    const delay = delays[i];
    const stamp = stamps[i];
    if (delay === null || stamp === null || stamp === undefined) break;
    chunks.push({ stampedAt: stamp, arrivedAt: stamp + delay });
  }
  return chunks;
}

/** Prints the breakdown and writes it to `dir` (breakdown.txt, and `plot`, the stacked chart); returns the plot's path. */
export function saveBreakdown(dir: string, b: DelayBreakdown, title: string, plot = 'delay-breakdown.svg'): string {
  const text = formatBreakdown(b);
  console.log(text);
  writeFileSync(join(dir, 'breakdown.txt'), `${text}\n`);
  const file = join(dir, plot);
  writeFileSync(file, breakdownChart(b.worstPerSecond, title));
  return file;
}

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '-');

/** The breakdown as text: per-stage percentiles, then the worst chunk of each second split up. */
export function formatBreakdown(b: DelayBreakdown): string {
  const lines = [`delay by stage, ms (p50 / p99 / max over ${b.chunks.length} chunks):`];
  for (const stage of [...STAGES, 'total'] as const) {
    const s = b.summary[stage];
    lines.push(`  ${stage.padEnd(8)} ${ms(s.p50).padStart(7)} ${ms(s.p99).padStart(8)} ${ms(s.max).padStart(8)}`);
  }
  const restored = b.chunks.filter((c) => c.restored).length;
  lines.push(`  (${restored} chunks' last byte came by FEC)`);
  lines.push('worst chunk per second: total = ' + STAGES.join(' + '));
  for (const c of b.worstPerSecond) {
    lines.push(`  ${String(c.second).padStart(3)} s: ${ms(c.total).padStart(7)} = ${STAGES.map((s) => ms(c.parts[s])).join(' + ')}${c.restored ? ' (FEC)' : ''}`);
  }
  return lines.join('\n');
}

const STAGE_COLORS: Record<Stage, string> = { ingress: '#8c8c8c', sender: '#d62728', flight: '#1f77b4', repair: '#ff7f0e', egress: '#2ca02c' };

/**
 * The worst chunk of each second, stacked by stage: each line is the sum of the stages up to it,
 * so the band between two lines is one stage's share and the top line the chunk's whole delay.
 */
export function breakdownChart(worstPerSecond: ReadonlyArray<{ second: number; parts: Record<Stage, number> }>, title: string): string {
  const series = STAGES.map((stage, i) => ({
    name: i === 0 ? stage : `+ ${stage}`,
    color: STAGE_COLORS[stage],
    markers: true,
    points: worstPerSecond.map((c): [number, number] => [c.second, STAGES.slice(0, i + 1).reduce((sum, s) => sum + Math.max(0, c.parts[s] || 0), 0)]),
  }));
  return lineChart({ title, xLabel: 'second of the stream', yLabel: 'worst chunk delay (ms), stacked by stage', series });
}
