import { firstMark, STREAM_STAGE_NAMES, STREAM_TRACE_GRANULARITY } from '../../src/io/streamTrace.ts';
import type { StreamProbe, StreamStage } from '../../src/session/streamProbe.ts';
import type { StreamTrace } from '../../bench/delayBreakdown.ts';

/** One call a session made to its probe, at simulated time `at`. */
export interface ProbeCall {
  stage: StreamStage;
  streamId: number;
  from: number;
  to: number;
  at: number;
}

/**
 * A {@link StreamProbe} for simulated sessions: keeps every call with the simulated time, and
 * gives the marks a relay's trace file would hold (bench/delayBreakdown.ts reads both alike).
 */
export class SimStreamTrace implements StreamProbe {
  readonly calls: ProbeCall[] = [];
  /** Set once the network exists. */
  clock: () => number = () => 0;

  onBytes(stage: StreamStage, streamId: number, from: number, to: number): void {
    this.calls.push({ stage, streamId, from, to, at: this.clock() });
  }

  marks(): StreamTrace {
    const trace: StreamTrace = new Map();
    for (const c of this.calls) {
      const name = STREAM_STAGE_NAMES[c.stage];
      let byStream = trace.get(name);
      if (byStream === undefined) trace.set(name, (byStream = new Map()));
      let marks = byStream.get(c.streamId);
      if (marks === undefined) byStream.set(c.streamId, (marks = new Map()));
      for (let mark = firstMark(c.from); mark <= c.to; mark += STREAM_TRACE_GRANULARITY) if (!marks.has(mark)) marks.set(mark, c.at);
    }
    return trace;
  }
}
