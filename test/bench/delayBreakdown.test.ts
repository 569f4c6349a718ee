import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { breakDown, breakDownRelays, breakdownChart, findStream, formatBreakdown, readStreamTrace, stampedChunks } from '../../bench/delayBreakdown.ts';
import { STREAM_TRACE_GRANULARITY, StreamTraceFile } from '../../src/io/streamTrace.ts';
import { StreamStage } from '../../src/session/streamProbe.ts';

const K = STREAM_TRACE_GRANULARITY;

describe('stream trace file', () => {
  it('marks each multiple of 16 KiB a range completes, once per call, on the monotonic clock', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bering-trace-')), 'relay.csv');
    const trace = new StreamTraceFile(file);
    const before = Number(process.hrtime.bigint()) / 1e6;
    trace.onBytes(StreamStage.Written, 4, 0, 2 * K + 100);
    trace.onBytes(StreamStage.Written, 4, 2 * K + 100, 2 * K + 200);
    trace.onBytes(StreamStage.Arrived, 4, 3 * K - 10, 3 * K);
    trace.onBytes(StreamStage.Arrived, 4, 3 * K - 10, 3 * K);
    trace.close();
    const after = Number(process.hrtime.bigint()) / 1e6;
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('stage,stream,offset,time_ms');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual([`written,4,${K}`, `written,4,${2 * K}`, `arrived,4,${3 * K}`, `arrived,4,${3 * K}`]);
    for (const l of lines.slice(1)) {
      const at = Number(l.split(',')[3]);
      expect(at).toBeGreaterThanOrEqual(before - 0.001);
      expect(at).toBeLessThanOrEqual(after + 0.001);
    }
    // The reader keeps each mark's first time.
    expect(readStreamTrace(file).get('arrived')!.get(4)!.size).toBe(1);
  });
});

describe('delay breakdown', () => {
  /** Two chunks' traces on both relays, with times chosen so each stage's share is known. */
  function traces(dir: string): void {
    const lines = (rows: Array<[string, number, number, number]>) => ['stage,stream,offset,time_ms', ...rows.map((r) => r.join(','))].join('\n') + '\n';
    writeFileSync(
      join(dir, 'exit.csv'),
      lines([
        ['written', 2, K, 1002],
        ['written', 2, 2 * K, 1012],
        ['sent', 2, K, 1003],
        ['sent', 2, 2 * K, 1042],
        // A download beside the stream, longer.
        ['written', 6, K, 1000],
        ['written', 6, 2 * K, 1000],
        ['written', 6, 3 * K, 1000],
      ]),
    );
    writeFileSync(
      join(dir, 'entry.csv'),
      lines([
        ['arrived', 2, K, 1093],
        ['arrived', 2, K, 1090],
        ['restored', 2, 2 * K, 1150],
        ['arrived', 2, 2 * K, 1160],
        ['read', 2, K, 1100],
        ['read', 2, 2 * K, 1151],
        ['read', 6, K, 1100],
        ['read', 6, 2 * K, 1100],
        ['read', 6, 3 * K, 1100],
      ]),
    );
  }

  it('splits each chunk at the relays\' stages, takes first arrivals, and finds the stream among downloads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bering-breakdown-'));
    traces(dir);
    const receiver = readStreamTrace(join(dir, 'entry.csv'));
    expect(findStream(receiver, 2, K)).toBe(2);
    expect(findStream(receiver, 3, K)).toBe(6);
    expect(findStream(receiver, 4, K)).toBeNull();
    // Streams the relays carried before the workload began are not it.
    expect(findStream(receiver, 2, K, 1099)).toBe(2);
    expect(findStream(receiver, 2, K, 1100.5)).toBeNull();
    const b = breakDownRelays(
      dir,
      'down',
      [
        { stampedAt: 1000, arrivedAt: 1101 },
        { stampedAt: 1010, arrivedAt: 1155 },
      ],
      K,
    );
    expect(b.streamId).toBe(2);
    expect(b.chunks[0].parts).toEqual({ ingress: 2, sender: 1, flight: 87, repair: 10, egress: 1 });
    expect(b.chunks[0].restored).toBe(false);
    expect(b.chunks[1].parts).toEqual({ ingress: 2, sender: 30, flight: 108, repair: 1, egress: 4 });
    expect(b.chunks[1].restored).toBe(true);
    expect(b.summary.total.max).toBe(145);
    expect(b.worstPerSecond.map((c) => c.index)).toEqual([1]);
    expect(formatBreakdown(b)).toContain('145.0 = 2.0 + 30.0 + 108.0 + 1.0 + 4.0 (FEC)');
    // One line per stage, stacked: the top one is the chunk's whole delay.
    const svg = breakdownChart(b.worstPerSecond, 'test');
    expect(svg.match(/data-series=/g)).toHaveLength(5);
  });

  it('takes a receiver\'s chunks up to the first one missing: after a gap, indexes would no longer be stream offsets', () => {
    expect(stampedChunks([5, 7, null, 9], [100, 110, 120, 130])).toEqual([
      { stampedAt: 100, arrivedAt: 105 },
      { stampedAt: 110, arrivedAt: 117 },
    ]);
    expect(stampedChunks([5, 7], [100])).toEqual([{ stampedAt: 100, arrivedAt: 105 }]);
  });

  it('leaves a stage unknown (NaN) where a trace lacks the mark, rather than inventing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bering-breakdown-'));
    traces(dir);
    const sender = readStreamTrace(join(dir, 'exit.csv'));
    const receiver = readStreamTrace(join(dir, 'entry.csv'));
    const b = breakDown([{ stampedAt: 1000, arrivedAt: 1101 }, { stampedAt: 1010, arrivedAt: 1155 }, { stampedAt: 1020, arrivedAt: 1200 }], K, 2, sender, receiver);
    expect(b.chunks[2].parts.ingress).toBeNaN();
    expect(b.chunks[2].total).toBe(180);
    expect(b.summary.ingress.max).toBe(2);
  });
});
