import { closeSync, openSync, writeSync } from 'node:fs';
import { StreamStage, type StreamProbe } from '../session/streamProbe.ts';

/** A stream's bytes are marked every this many: the bench's live stream sends chunks this size. */
export const STREAM_TRACE_GRANULARITY = 16 * 1024;
/** Lines are written in batches of about this many bytes (and at least once a second). */
const FLUSH_BYTES = 64 * 1024;
const FLUSH_INTERVAL_MS = 1000;

/** Each stage's name in a trace file. */
export const STREAM_STAGE_NAMES: Record<StreamStage, string> = {
  [StreamStage.Written]: 'written',
  [StreamStage.Sent]: 'sent',
  [StreamStage.Arrived]: 'arrived',
  [StreamStage.Restored]: 'restored',
  [StreamStage.Read]: 'read',
};

/**
 * The first mark (a multiple of the granularity) that bytes starting at `from` complete; bytes
 * [from, to) complete every mark from it, a granularity apart, up to `to`.
 */
export function firstMark(from: number): number {
  return (Math.floor(from / STREAM_TRACE_GRANULARITY) + 1) * STREAM_TRACE_GRANULARITY;
}

/**
 * A {@link StreamProbe} writing to a file, as CSV: `stage,stream,offset,time_ms`, one line each
 * time a stream's bytes up to a multiple of {@link STREAM_TRACE_GRANULARITY} (`offset`, one past
 * the marked byte) reach a stage, at `time_ms` on the host's monotonic clock (CLOCK_MONOTONIC,
 * sub-millisecond: comparable between processes of one host, not between hosts). `arrived` and
 * `restored` may repeat a mark (a byte can arrive twice); the first counts. Set
 * `BERING_STREAM_TRACE=FILE` on a relay to get one; bench/delayBreakdown.ts reads two.
 */
export class StreamTraceFile implements StreamProbe {
  private readonly fd: number;
  private pending = '';
  private readonly timer: NodeJS.Timeout;

  /** Throws the file system's error when `path` cannot be written. */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, 'stage,stream,offset,time_ms\n');
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  onBytes(stage: StreamStage, streamId: number, from: number, to: number): void {
    let mark = firstMark(from);
    if (mark > to) return;
    const at = (Number(process.hrtime.bigint()) / 1e6).toFixed(3);
    for (; mark <= to; mark += STREAM_TRACE_GRANULARITY) this.pending += `${STREAM_STAGE_NAMES[stage]},${streamId},${mark},${at}\n`;
    if (this.pending.length >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    writeSync(this.fd, this.pending);
    this.pending = '';
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
    closeSync(this.fd);
  }
}
