import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSections, markdownTable, renderHtml, renderMarkdown, writeReport } from '../../bench/report.ts';
import type { BenchResults, RunRecord } from '../../bench/run.ts';
import { SCENARIOS, type Workload } from '../../bench/scenarios.ts';
import { linkLimitMbps } from '../../bench/stats.ts';

const workloads: Workload[] = [
  { name: 'bulk-down', spec: { kind: 'bulk', direction: 'down', bytes: 16 << 20 }, capMs: 10_000 },
  { name: 'cbr-down', spec: { kind: 'cbr', direction: 'down', rateMbps: 60, chunkBytes: 16384, durationMs: 6000 }, capMs: 9000 },
  { name: 'cbr-up', spec: { kind: 'cbr', direction: 'up', rateMbps: 60, chunkBytes: 16384, durationMs: 6000 }, capMs: 9000 },
  {
    name: 'cbr+download',
    spec: { kind: 'cbr', direction: 'down', rateMbps: 60, chunkBytes: 16384, durationMs: 6000 },
    capMs: 9000,
    alongside: { kind: 'bulk', direction: 'down', bytes: 2 ** 40 },
  },
];

function run(scenario: string, system: string, workload: Workload['name'], over: Partial<RunRecord>): RunRecord {
  const paths = SCENARIOS.find((s) => s.name === scenario)!.paths;
  return {
    scenario,
    system,
    workload,
    status: 'ok',
    note: null,
    bytes: 16 << 20,
    seconds: 4,
    complete: true,
    goodputMbps: null,
    secondHalfMbps: null,
    limitMbps: linkLimitMbps((system.endsWith('2path') ? paths : paths.slice(0, 1)).map((p) => p.bToA)),
    ratio: null,
    relayCpuSeconds: null,
    cpuSecondsPerGB: null,
    peakRssMiB: null,
    congestionControl: null,
    alongside: null,
    cbr: null,
    link: [],
    pathSeries: null,
    emulatorCpuSeconds: 0.1,
    hostDrops: { emulator: 0, system: 0 },
    ...over,
  };
}

const cbr = (p99: number | null) => ({ chunks: 100, delivered: p99 === null ? 90 : 100, p50: 120, p99, max: p99, stalls: p99 === null ? 3 : 0, stalledMs: p99 === null ? null : 0, cdf: [[100, 0.5], [200, 1]] as Array<[number, number]> });

const figure = (p50: number, p99: number, max: number) => ({ p50, p99, max });
const stages = {
  summary: { ingress: figure(1, 3, 5), sender: figure(2, 40, 90), flight: figure(100, 104, 110), repair: figure(0, 6, 12), egress: figure(1, 2, NaN), total: figure(105, 150, 150) },
  worstPerSecond: [
    { second: 0, total: 150, parts: { ingress: 5, sender: 30, flight: 104, repair: 9, egress: 2 } },
    { second: 1, total: 120, parts: { ingress: 1, sender: 12, flight: 100, repair: 6, egress: 1 } },
  ],
};

const scenarios = ['clean', 'loss3', 'failover'].map((name) => SCENARIOS.find((s) => s.name === name)!);
const results: BenchResults = {
  mode: 'quick',
  startedAt: '2026-11-26T23:00:00.000Z',
  durationSeconds: 170,
  machine: { cpu: 'Test CPU', nproc: '2', memory: '1 GiB', kernel: 'Linux 6', node: 'v20', bering: 'abc1234', loadAverageAtStart: '0.00 0.00 0.00' },
  playoutBufferMs: 1000,
  systems: [
    { id: 'bering', label: 'bering', settings: 'defaults', available: true, note: null },
    { id: 'bering-2path', label: 'bering, 2 paths', settings: 'two peers', available: true, note: null },
    { id: 'tcp-cubic', label: 'TCP cubic', settings: 'cubic', available: true, note: null },
    { id: 'kcptun', label: 'kcptun', settings: 'fast3', available: false, note: 'kcptun-client not found' },
  ],
  scenarios: scenarios.map((s) => ({ name: s.name, title: s.title, paths: s.paths, lossPercent: s.lossPercent ?? null, blackout: s.blackout ?? null, limitMbps: linkLimitMbps(s.paths.map((p) => p.bToA)) })),
  workloads,
  runs: [
    run('clean', 'bering', 'bulk-down', { goodputMbps: 90, ratio: 0.9, cpuSecondsPerGB: 40, peakRssMiB: { entry: 100, exit: 120 } }),
    run('clean', 'bering', 'cbr-down', { cbr: { ...cbr(150), stages }, goodputMbps: 60 }),
    run('clean', 'tcp-cubic', 'bulk-down', { goodputMbps: 80, ratio: 0.8, congestionControl: 'cubic' }),
    run('clean', 'tcp-cubic', 'cbr-down', { cbr: cbr(200), goodputMbps: 60 }),
    run('clean', 'bering', 'cbr-up', { cbr: cbr(130), goodputMbps: 60 }),
    run('clean', 'tcp-cubic', 'cbr-up', { cbr: cbr(210), goodputMbps: 60 }),
    run('clean', 'bering', 'cbr+download', { cbr: cbr(140), goodputMbps: 60, alongside: { bytes: 26_400_000, seconds: 6, goodputMbps: 35.2 } }),
    run('clean', 'tcp-cubic', 'cbr+download', { cbr: cbr(null), goodputMbps: 50, alongside: { bytes: 33_000_000, seconds: 6, goodputMbps: 44 } }),
    run('loss3', 'bering', 'bulk-down', { goodputMbps: 48.5, ratio: 0.5, cpuSecondsPerGB: 60, peakRssMiB: { entry: 110, exit: 130 } }),
    run('loss3', 'bering', 'cbr-down', { cbr: cbr(300), goodputMbps: 60 }),
    run('loss3', 'tcp-cubic', 'bulk-down', { goodputMbps: 0.5, ratio: 0.005, complete: false, note: 'time cap: 0.6 of 16 MiB in 10 s', congestionControl: 'cubic' }),
    run('loss3', 'tcp-cubic', 'cbr-down', { cbr: cbr(null), goodputMbps: 0.5 }),
    ...(['clean', 'loss3'] as const).flatMap((s) => workloads.map((w) => run(s, 'kcptun', w.name, { status: 'unavailable', note: 'kcptun-client not found', bytes: null, goodputMbps: null }))),
    ...workloads.map((w) => run('failover', 'bering-2path', w.name, { status: 'unavailable', note: 'multipath not available in this build: the second path carried 0.0% of the packets', goodputMbps: null })),
  ],
};

const dir = mkdtempSync(join(tmpdir(), 'bench-report-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench report', () => {
  const sections = buildSections(results);
  const md = renderMarkdown(results, sections);
  const html = renderHtml(results, sections);

  it('tables goodput per scenario and system with the share of the limit, marking capped runs', () => {
    expect(md).toContain('| scenario | limit (Mbit/s) | bering | bering, 2 paths | TCP cubic | kcptun |');
    expect(md).toContain('| clean | 100.0 | 90.0 (90%) | — | 80.0 (80%) | n/a |');
    expect(md).toContain('| loss3 | 97.0 | 48.5 (50%) | — | 0.500* (1%) | n/a |');
    expect(md).toContain('| failover | 198.0 | — | n/a | — | — |');
  });

  it('headlines compare bering with each baseline from the same run', () => {
    expect(md).toContain('**loss3** (180 ms RTT, 3% random loss): bering 48.5 Mbit/s (50% of the link\'s limit), 97× TCP cubic; its 60 Mbit/s stream down: p99 delay 300 ms, 0 stalls.');
    expect(md).toContain(
      '**clean** (180 ms RTT, no loss): bering 90.0 Mbit/s (90% of the link\'s limit), 1.1× TCP cubic; its 60 Mbit/s stream down: p99 delay 150 ms, 0 stalls; up: p99 delay 130 ms, 0 stalls; ' +
        'with a download alongside, the stream\'s p99 140 ms and max 140 ms, the download 35.2 Mbit/s.',
    );
    expect(md).toContain('Not run on this machine: kcptun: kcptun-client not found.');
  });

  it('headlines what a second path adds: bering on two paths against bering on one, same run', () => {
    const twoLossy = SCENARIOS.find((s) => s.name === 'two-lossy')!;
    const twoPaths: BenchResults = {
      ...results,
      scenarios: [{ name: twoLossy.name, title: twoLossy.title, paths: twoLossy.paths, lossPercent: null, blackout: null, limitMbps: 194 }],
      runs: [run('two-lossy', 'bering', 'bulk-down', { goodputMbps: 80, ratio: 0.82 }), run('two-lossy', 'bering-2path', 'bulk-down', { goodputMbps: 136, ratio: 0.7 })],
    };
    const md2 = renderMarkdown(twoPaths, buildSections(twoPaths));
    expect(md2).toContain(`**two-lossy** (${twoLossy.title}): bering, 2 paths 136.0 Mbit/s (70% of the link's limit), 1.7× bering over one path.`);
  });

  it('reports stream delays, with undelivered chunks as never', () => {
    expect(md).toContain('| loss3 | bering | 100/100 | 120 ms | 300 ms | 300 ms | 0 | 0.0 s |');
    expect(md).toContain('| loss3 | TCP cubic | 90/100 | 120 ms | never | never | 3 | never resumed |');
  });

  it('reports the stream each way under its own heading, delays timed at the receiving side', () => {
    expect(md).toContain('## 4K-like stream, 60 Mbit/s service → viewer: cbr-down');
    expect(md).toContain('## 4K-like stream, 60 Mbit/s viewer → service: cbr-up');
    expect(md).toContain('to its last byte at the service.');
    const up = md.slice(md.indexOf(': cbr-up'), md.indexOf(': cbr+download'));
    expect(up).toContain('| clean | bering | 100/100 | 120 ms | 130 ms | 130 ms | 0 | 0.0 s |');
    expect(up).toContain('| clean | TCP cubic | 100/100 | 120 ms | 210 ms | 210 ms | 0 | 0.0 s |');
    expect(up).not.toContain('loss3');
  });

  it('puts the download alongside the stream next to its delays, with its share of what the stream leaves', () => {
    const section = md.slice(md.indexOf('## 4K-like stream, 60 Mbit/s service → viewer, with a download alongside: cbr+download'), md.indexOf('## Failover'));
    expect(section).toContain('| scenario | system | chunks delivered | p50 | p99 | max | stalls | stalled | download (Mbit/s) |');
    // The link limit is 100 Mbit/s, the stream takes 60: 35.2 of the 40 left is 88%.
    expect(section).toContain('| clean | bering | 100/100 | 120 ms | 140 ms | 140 ms | 0 | 0.0 s | 35.2 (88%) |');
    expect(section).toContain('| clean | TCP cubic | 90/100 | 120 ms | never | never | 3 | never resumed | 44.0 (110%) |');
    expect(html).toContain('<th>download (Mbit/s)</th>');
    expect(html).toContain('<td>35.2 (88%)</td>');
  });

  it('splits bering\'s stream delay by stage, with the worst chunk per second stacked', () => {
    const section = md.slice(md.indexOf(': cbr-down'), md.indexOf(': cbr-up'));
    expect(section).toContain('| scenario | system | ingress | sender | flight | repair | egress |');
    expect(section).toContain('| clean | bering | 1 / 3 / 5 | 2 / 40 / 90 | 100 / 104 / 110 | 0 / 6 / 12 | 1 / 2 / - |');
    expect(html).toContain('Worst chunk per second by stage, 60 Mbit/s stream down, clean');
    // Runs without the figures (other systems, results from before) get no row.
    expect(section).not.toMatch(/\| loss3 \| bering \| \d+ \/ /);
  });

  it('names the skipped failover plot and why', () => {
    expect(md).toContain('_Plot per-path throughput in failover skipped: multipath not available in this build');
    expect(html).toContain('Plot per-path throughput in failover skipped');
  });

  it('embeds valid SVG charts: goodput vs loss per system with the limit, a delay CDF per scenario, bering\'s stages', () => {
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(6);
    for (const svg of svgs) expect(XMLValidator.validate(svg)).toBe(true);
    expect(svgs[0]).toContain('data-series="bering"');
    expect(svgs[0]).toContain('data-series="TCP cubic"');
    expect(svgs[0]).toContain('data-series="limit C(1-p)"');
    expect(svgs[0]).not.toContain('data-series="kcptun"');
    expect(svgs[1]).toContain('Delivery delay CDF, 60 Mbit/s stream down, clean');
    expect(svgs[3]).toContain('Worst chunk per second by stage, 60 Mbit/s stream down, clean');
    expect(svgs[4]).toContain('Delivery delay CDF, 60 Mbit/s stream up, clean');
    expect(svgs[5]).toContain('Delivery delay CDF, 60 Mbit/s stream down with a download, clean');
    expect(html).not.toMatch(/<script|<link |src="http/);
  });

  it('states the machine and the cost figures', () => {
    expect(md).toContain('Machine: Test CPU, 2 CPUs');
    expect(md).toContain('| bering | 40.0-60.0 | 110 / 130 |');
    expect(md).toContain('| TCP cubic | n/a (in the kernel) | n/a |');
  });

  it('writes report.md, report.html and results.json, with Infinity as null in JSON', () => {
    const files = writeReport(dir, { ...results, scenarios: [{ ...results.scenarios[0], limitMbps: Infinity }] });
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['report.md', 'report.html', 'results.json']);
    const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchResults;
    expect(json.scenarios[0].limitMbps).toBeNull();
    expect(json.runs).toHaveLength(results.runs.length);
  });

  it('escapes pipes in markdown cells', () => {
    expect(markdownTable({ headers: ['a|b'], rows: [['x|y']] })).toBe('| a\\|b |\n| --- |\n| x\\|y |');
  });
});
