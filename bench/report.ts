/**
 * Turns bench results into report.md, a self-contained report.html (tables and inline SVG
 * charts) and results.json. Both documents come from one list of sections, so they always say
 * the same thing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResults, RunRecord } from './run.ts';
import type { Workload } from './scenarios.ts';
import { esc, lineChart, type Series } from './svg.ts';
import { breakdownChart, STAGES } from './delayBreakdown.ts';

/** A table as plain strings, rendered to markdown or HTML. */
export interface Table {
  headers: string[];
  rows: string[][];
}

/** A chart for the HTML report, or the reason it is not there (both documents print that). */
export type Chart = { svg: string } | { skipped: string };

export interface Section {
  heading: string;
  paragraphs: string[];
  tables: Table[];
  charts: Chart[];
}

const COLORS: Record<string, string> = {
  bering: '#1f77b4',
  'bering-nofec': '#17becf',
  'bering-2path': '#9467bd',
  'tcp-cubic': '#7f7f7f',
  'tcp-bbr': '#2ca02c',
  kcptun: '#ff7f0e',
};
const PATH_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

/** Writes the three files into `dir`; returns their paths. */
export function writeReport(dir: string, results: BenchResults): string[] {
  const sections = buildSections(results);
  const files = {
    'report.md': renderMarkdown(results, sections),
    'report.html': renderHtml(results, sections),
    'results.json': `${JSON.stringify(results, jsonSafe, 2)}\n`,
  };
  return Object.entries(files).map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  });
}

/** JSON has no Infinity: an unlimited link's limit is written as null. */
function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

/** Every section of the report, in order. */
export function buildSections(results: BenchResults): Section[] {
  const sections: Section[] = [headlines(results)];
  for (const w of results.workloads) {
    if (w.spec.kind === 'bulk') sections.push(bulkSection(results, w));
    else sections.push(cbrSection(results, w));
  }
  const failover = failoverSection(results);
  if (failover !== null) sections.push(failover);
  sections.push(costSection(results), notesSection(results), systemsSection(results), linksSection(results), methodSection(results));
  return sections;
}

function headlines(results: BenchResults): Section {
  const bulk = results.workloads.find((w) => w.spec.kind === 'bulk');
  const streams = results.workloads.filter((w) => w.spec.kind === 'cbr' && w.alongside === undefined);
  const withDownload = results.workloads.find((w) => w.spec.kind === 'cbr' && w.alongside !== undefined);
  const cbrRate = streams[0]?.spec.kind === 'cbr' ? streams[0].spec.rateMbps : 0;
  const items: string[] = [];
  for (const sc of results.scenarios) {
    const runs = results.runs.filter((r) => r.scenario === sc.name && r.workload === bulk?.name && r.status === 'ok' && r.goodputMbps !== null);
    const hero = runs.find((r) => r.system === (sc.paths.length > 1 ? 'bering-2path' : 'bering'));
    if (hero === undefined) continue;
    const others = runs
      .filter((r) => !r.system.startsWith('bering'))
      .map((r) => `${ratioText(hero.goodputMbps!, r.goodputMbps!)} ${label(results, r.system)}`);
    let text = `**${sc.name}** (${sc.title}): ${label(results, hero.system)} ${mbps(hero.goodputMbps!)} Mbit/s`;
    if (Number.isFinite(hero.limitMbps)) text += ` (${pct(hero.ratio!)} of the link's limit)`;
    // What the second path adds: the same relays over one of the scenario's paths, same run.
    const onePath = hero.system === 'bering-2path' ? runs.find((r) => r.system === 'bering') : undefined;
    if (onePath !== undefined) text += `, ${ratioText(hero.goodputMbps!, onePath.goodputMbps!)} ${label(results, onePath.system)} over one path`;
    if (others.length > 0) text += `, ${others.join(', ')}`;
    const heroRun = (w: Workload | undefined): RunRecord | undefined => (w === undefined ? undefined : find(results, sc.name, hero.system, w.name));
    const delays = streams.flatMap((w) => {
      const c = heroRun(w)?.cbr;
      if (c == null) return [];
      const way = streams.length > 1 ? ` ${w.spec.direction}` : '';
      return [`${way}: p99 delay ${ms(c.p99)}, ${c.stalls} stall${c.stalls === 1 ? '' : 's'}`];
    });
    if (delays.length > 0) text += `; its ${cbrRate} Mbit/s stream${delays.join(';')}`;
    const loaded = heroRun(withDownload);
    if (loaded?.cbr != null && loaded.alongside !== null && loaded.status === 'ok') {
      text += `; with a download alongside, the stream's p99 ${ms(loaded.cbr.p99)} and max ${ms(loaded.cbr.max)}, the download ${mbps(loaded.alongside.goodputMbps)} Mbit/s`;
    }
    items.push(`${text}.`);
  }
  const unavailable = results.systems.filter((s) => !s.available).map((s) => `${s.label}: ${s.note}`);
  return {
    heading: 'Headlines',
    paragraphs: [
      ...(items.length > 0 ? [items.map((i) => `- ${i}`).join('\n')] : ['No bering run completed; see the tables below.']),
      ...(unavailable.length > 0 ? [`Not run on this machine: ${unavailable.join('; ')}.`] : []),
    ],
    tables: [],
    charts: [],
  };
}

function bulkSection(results: BenchResults, w: Workload): Section {
  const spec = w.spec;
  const way = spec.direction === 'down' ? 'service → viewer (the heavy way for Plex)' : 'viewer → service';
  const systems = systemsWithRuns(results, w.name);
  const rows = results.scenarios.map((sc) => {
    const row = [sc.name, limitText(results, sc.name, w.name)];
    for (const sys of systems) {
      const r = find(results, sc.name, sys, w.name);
      row.push(r === undefined ? '—' : goodputCell(r));
    }
    return row;
  });
  const settled = results.scenarios.map((sc) => [
    sc.name,
    ...systems.map((sys) => {
      const r = find(results, sc.name, sys, w.name);
      if (r === undefined) return '—';
      return r.status === 'ok' && r.secondHalfMbps !== null ? mbps(r.secondHalfMbps) : statusText(r);
    }),
  ]);
  const lossScenarios = results.scenarios.filter((s) => s.lossPercent !== null).sort((a, b) => a.lossPercent! - b.lossPercent!);
  const charts: Chart[] = [];
  if (lossScenarios.length >= 2) {
    const series: Series[] = systems
      .map((sys): Series => ({
        name: label(results, sys),
        color: COLORS[sys] ?? '#333',
        markers: true,
        points: lossScenarios.flatMap((sc): Array<[number, number]> => {
          const r = find(results, sc.name, sys, w.name);
          return r?.status === 'ok' && r.goodputMbps !== null ? [[sc.lossPercent!, r.goodputMbps]] : [];
        }),
      }))
      .filter((s) => s.points.length > 0);
    const limits = lossScenarios.map((sc): [number, number] => [sc.lossPercent!, sc.limitMbps]).filter(([, v]) => Number.isFinite(v));
    series.push({ name: 'limit C(1-p)', color: '#000', dashed: true, points: limits });
    charts.push({
      svg: lineChart({ title: `Goodput vs random loss, ${w.name}`, xLabel: 'random loss each way (%)', yLabel: 'goodput (Mbit/s)', series }),
    });
  } else {
    charts.push({ skipped: 'goodput vs loss needs at least two random-loss scenarios (clean counts as 0%)' });
  }
  return {
    heading: `Bulk goodput, ${way}: ${w.name}`,
    paragraphs: [
      `One TCP connection moves ${spec.kind === 'bulk' ? mib(spec.bytes) : ''} MiB, stopped at ${w.capMs / 1000} s if not done. ` +
        'Each cell: goodput in Mbit/s and, in brackets, its share of the link limit C(1-p) (capacity times the share of packets the wire does not lose; ' +
        'headers count against C, so about 95% is the practical ceiling). A `*` marks a transfer stopped by the time cap: its goodput is what arrived by then. ' +
        '— : not run in that scenario (single-path systems skip the failover scenario; only bering has a 2-path mode).',
      'The second table is the rate over the second half of each transfer\'s time, once slow start or a tunnel\'s start-up is behind it: ' +
        'close to what a longer transfer settles at. On a short transfer the two differ most.',
    ],
    tables: [
      { headers: ['scenario', 'limit (Mbit/s)', ...systems.map((s) => label(results, s))], rows },
      { headers: ['scenario', ...systems.map((s) => `${label(results, s)}, 2nd half`)], rows: settled },
    ],
    charts,
  };
}

function cbrSection(results: BenchResults, w: Workload): Section {
  const spec = w.spec;
  const rate = spec.kind === 'cbr' ? spec.rateMbps : 0;
  const down = spec.direction === 'down';
  const download = w.alongside;
  const rows: string[][] = [];
  const charts: Chart[] = [];
  for (const sc of results.scenarios) {
    const runs = results.runs.filter((r) => r.scenario === sc.name && r.workload === w.name);
    for (const r of runs) {
      const c = r.cbr;
      if (r.status === 'unavailable') continue;
      const row = [
        sc.name,
        label(results, r.system),
        c === null ? statusText(r) : `${c.delivered}/${c.chunks}`,
        c === null ? '' : ms(c.p50),
        c === null ? '' : ms(c.p99),
        c === null ? '' : ms(c.max),
        c === null ? '' : String(c.stalls),
        c === null ? '' : c.stalledMs === null ? 'never resumed' : `${(c.stalledMs / 1000).toFixed(1)} s`,
      ];
      if (download !== undefined) row.push(alongsideCell(r, rate));
      rows.push(row);
    }
    const withCdf = runs.filter((r) => r.cbr !== null && r.cbr.cdf.length > 0);
    if (withCdf.length > 0) {
      charts.push({
        svg: lineChart({
          title: `Delivery delay CDF, ${rate} Mbit/s stream ${spec.direction}${download === undefined ? '' : ' with a download'}, ${sc.name}`,
          xLabel: 'chunk delivery delay (ms, log scale)',
          yLabel: 'share of chunks delivered',
          xLog: true,
          xMax: w.capMs,
          yMax: 1,
          series: withCdf.map((r) => ({ name: label(results, r.system), color: COLORS[r.system] ?? '#333', points: r.cbr!.cdf })),
        }),
      });
    }
  }
  const paragraphs = [
    `A constant ${rate} Mbit/s in ${spec.kind === 'cbr' ? spec.chunkBytes / 1024 : ''} KiB chunks for ${spec.kind === 'cbr' ? spec.durationMs / 1000 : ''} s, ` +
      `each stamped with its send time; the delay is from then to its last byte at the ${down ? 'viewer' : 'service'}. A chunk still missing ${(w.capMs - (spec.kind === 'cbr' ? spec.durationMs : 0)) / 1000} s after the stream ends counts as never delivered (infinitely late). ` +
      `Stalls: times a player starting ${results.playoutBufferMs} ms behind the sender would have run dry; each time it waits until it holds ` +
      `${results.playoutBufferMs} ms of stream again, as players do, so one outage counts once. "stalled" is the total time spent waiting.`,
  ];
  if (download !== undefined) {
    paragraphs.push(
      `At the same moment a second connection through the same tunnel (kernel TCP: over the same path) downloads as fast as it can, ${download.direction === 'down' ? 'service → viewer' : 'viewer → service'}, ` +
        'until the stream ends; then it is stopped. The last column is its goodput over that time and, in brackets, its share of what the stream leaves of the link limit, C(1-p) minus the stream\'s rate. ' +
        'The aim: the stream\'s delays stay as without the download (p99 at most 150 ms, max at most 400 ms) while the download takes the rest.',
    );
  }
  const headers = ['scenario', 'system', 'chunks delivered', 'p50', 'p99', 'max', 'stalls', 'stalled'];
  if (download !== undefined) headers.push('download (Mbit/s)');
  const tables = [{ headers, rows }];
  const staged = results.runs.filter((r) => r.workload === w.name && r.status === 'ok' && r.cbr?.stages != null);
  if (staged.length > 0) {
    paragraphs.push(
      'Where bering\'s delay went, from both relays\' stream traces (`BERING_STREAM_TRACE`): ingress (the source\'s TCP into the sending relay), ' +
        'sender (its stream buffer, scheduler, pacer and window), flight (the wire to the receiving relay, a lost packet\'s resend or FEC restoration included), ' +
        'repair (waiting there for the bytes before it: repairs, retransmissions, reordering) and egress (the receiving relay\'s TCP to the viewer); ' +
        'p50 / p99 / max of each, in ms. The charts stack the stages of the worst chunk of each second.',
    );
    tables.push({
      headers: ['scenario', 'system', ...STAGES],
      rows: staged.map((r) => [r.scenario, label(results, r.system), ...STAGES.map((s) => stageCell(r.cbr!.stages!.summary[s]))]),
    });
    for (const r of staged.filter((x) => x.system === 'bering')) {
      charts.push({ svg: breakdownChart(r.cbr!.stages!.worstPerSecond, `Worst chunk per second by stage, ${rate} Mbit/s stream ${spec.direction}${download === undefined ? '' : ' with a download'}, ${r.scenario}`) });
    }
  }
  return {
    heading: `4K-like stream, ${rate} Mbit/s ${down ? 'service → viewer' : 'viewer → service'}${download === undefined ? '' : ', with a download alongside'}: ${w.name}`,
    paragraphs,
    tables,
    charts,
  };
}

function stageCell(s: { p50: number; p99: number; max: number }): string {
  const v = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
  return `${v(s.p50)} / ${v(s.p99)} / ${v(s.max)}`;
}

/** The connection alongside a stream: its Mbit/s and its share of what the stream leaves of the limit. */
function alongsideCell(r: RunRecord, streamMbps: number): string {
  if (r.alongside === null) return r.status === 'ok' ? '' : 'failed';
  const rest = r.limitMbps - streamMbps;
  const share = Number.isFinite(rest) && rest > 0 ? ` (${pct(r.alongside.goodputMbps / rest)})` : '';
  return `${mbps(r.alongside.goodputMbps)}${share}`;
}

function failoverSection(results: BenchResults): Section | null {
  const scenarios = results.scenarios.filter((s) => s.blackout !== null);
  if (scenarios.length === 0) return null;
  const charts: Chart[] = [];
  const paragraphs: string[] = [];
  for (const sc of scenarios) {
    const b = sc.blackout!;
    paragraphs.push(`${sc.name}: ${sc.title}. Throughput of each path in the data direction, sampled every 200 ms.`);
    const runs = results.runs.filter((r) => r.scenario === sc.name && r.system === 'bering-2path');
    const plotted = runs.filter((r) => r.status === 'ok' && r.pathSeries !== null);
    if (plotted.length === 0) {
      const why = runs.find((r) => r.note !== null)?.note ?? 'bering-2path did not run';
      charts.push({ skipped: `per-path throughput in ${sc.name} skipped: ${why}` });
      continue;
    }
    for (const r of plotted) {
      charts.push({
        svg: lineChart({
          title: `Per-path throughput, ${sc.name}, ${r.workload} (path ${b.path} dark ${b.atMs / 1000}-${(b.atMs + b.forMs) / 1000} s)`,
          xLabel: 'time since the transfer started (s)',
          yLabel: 'Mbit/s',
          series: r.pathSeries!.map((points, i) => ({ name: `path ${i}`, color: PATH_COLORS[i % PATH_COLORS.length], points })),
        }),
      });
    }
  }
  return { heading: 'Failover', paragraphs, tables: [], charts };
}

function costSection(results: BenchResults): Section {
  const rows: string[][] = [];
  for (const sys of results.systems.filter((s) => s.available)) {
    const runs = results.runs.filter((r) => r.system === sys.id && r.status === 'ok');
    if (runs.length === 0) continue;
    const perGb = runs.filter((r) => r.cpuSecondsPerGB !== null && results.workloads.find((w) => w.name === r.workload)?.spec.kind === 'bulk');
    const rss = runs.map((r) => r.peakRssMiB).filter((p): p is { entry: number; exit: number } => p !== null);
    const emulator = runs.reduce((n, r) => n + (r.emulatorCpuSeconds ?? 0), 0);
    const seconds = runs.reduce((n, r) => n + (r.seconds ?? 0), 0);
    rows.push([
      sys.label,
      perGb.length === 0 ? (sys.id.startsWith('tcp') ? 'n/a (in the kernel)' : 'n/a') : range(perGb.map((r) => r.cpuSecondsPerGB!), 1),
      rss.length === 0 ? 'n/a' : `${Math.max(...rss.map((p) => p.entry)).toFixed(0)} / ${Math.max(...rss.map((p) => p.exit)).toFixed(0)}`,
      seconds > 0 ? pct(emulator / seconds) : '',
    ]);
  }
  return {
    heading: 'Cost',
    paragraphs: [
      'CPU: user + system seconds of both relay processes (/proc/PID/stat) per GB delivered to the application, over the bulk runs (range across scenarios; runs under 10 MB are left out as too coarse). ' +
        "Kernel TCP has no relay process: its cost is in the kernel's softirq time, not attributable to a process. " +
        'Peak RSS: VmHWM of the entry / exit relay over a scenario, highest across scenarios. ' +
        'The last column is the CPU of the bench process itself (almost all of it the link emulator) as a share of one core while that system ran: ' +
        `it competes with the systems under test for the machine's ${results.machine.nproc ?? '?'} CPUs.`,
    ],
    tables: [{ headers: ['system', 'relay CPU (s/GB)', 'peak RSS entry / exit (MiB)', 'emulator CPU'], rows }],
    charts: [],
  };
}

function notesSection(results: BenchResults): Section {
  const unavailable = new Set(results.systems.filter((s) => !s.available).map((s) => s.id));
  const rows = results.runs
    .filter((r) => r.note !== null && !unavailable.has(r.system))
    .map((r) => [r.scenario, label(results, r.system), r.workload, r.status, r.note!]);
  return {
    heading: 'Notes on runs',
    paragraphs: rows.length === 0 ? ['Every run completed within its time cap.'] : [],
    tables: rows.length === 0 ? [] : [{ headers: ['scenario', 'system', 'workload', 'status', 'note'], rows }],
    charts: [],
  };
}

function systemsSection(results: BenchResults): Section {
  return {
    heading: 'Systems',
    paragraphs: [],
    tables: [
      {
        headers: ['system', 'settings', 'status'],
        rows: results.systems.map((s) => [s.label, s.settings, s.available ? 'ran' : `not available: ${s.note}`]),
      },
    ],
    charts: [],
  };
}

function linksSection(results: BenchResults): Section {
  const rows = results.scenarios.flatMap((sc) =>
    sc.paths.map((p, i) => [
      i === 0 ? sc.name : '',
      String(i),
      `${2 * p.bToA.delayMs} ms`,
      `${p.bToA.rateMbps ?? '∞'} Mbit/s`,
      p.bToA.queueMs !== undefined ? `${p.bToA.queueMs} ms` : '',
      p.bToA.burstLoss !== undefined
        ? `${(p.bToA.burstLoss.meanLossRate * 100).toFixed(1)}% in bursts of ${p.bToA.burstLoss.meanBurstLength} (Gilbert-Elliott)`
        : `${((p.bToA.lossRate ?? 0) * 100).toFixed(1)}% random`,
      sc.blackout !== null && sc.blackout.path === i ? `dark ${sc.blackout.atMs / 1000}-${(sc.blackout.atMs + sc.blackout.forMs) / 1000} s into each run` : '',
    ]),
  );
  return {
    heading: 'Emulated links',
    paragraphs: ['Both directions of a path are alike (each its own seeded random stream). Every system starts each scenario on fresh links with the same seeds.'],
    tables: [{ headers: ['scenario', 'path', 'RTT', 'rate', 'queue', 'loss each way', 'blackout'], rows }],
    charts: [],
  };
}

function methodSection(results: BenchResults): Section {
  return {
    heading: 'Method',
    paragraphs: [
      'Every system runs over the same link model (`src/sim/link.ts`: drop-tail bottleneck queue, random and Gilbert-Elliott loss, delay, blackouts) in this one run. ' +
        'bering and kcptun cross a UDP impairment proxy on loopback; kernel TCP runs between two network namespaces whose TUN devices are bridged by socat to a userspace forwarder applying the same model ' +
        '(addresses from 198.18.0.0/15; this kernel has no netem). The TUN side counts whole IP packets, the proxy UDP payloads plus 28 header bytes: the same wire bytes.',
      'The viewer and the service are separate processes (`bench/endpoint.ts`), the same for every system; bering runs as two `bin/bering relay` processes with a fresh key, kcptun as kcptun-client and kcptun-server. ' +
        'Each system is warmed up with a 64 KiB transfer before the measured runs, so tunnel handshakes are not timed; goodput counts from the viewer\'s connect() to the last byte.',
      `Mode: ${results.mode}. Started ${results.startedAt}, took ${Math.round(results.durationSeconds)} s.`,
    ],
    tables: [],
    charts: [],
  };
}

// Rendering.

/** The report as markdown (charts are in the HTML file; skipped ones are named here too). */
export function renderMarkdown(results: BenchResults, sections: Section[]): string {
  const out: string[] = [`# bering bench: ${results.mode} run, ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC`, '', machineLine(results), ''];
  for (const s of sections) {
    out.push(`## ${s.heading}`, '');
    for (const p of s.paragraphs) out.push(p, '');
    for (const t of s.tables) out.push(markdownTable(t), '');
    const skipped = s.charts.filter((c): c is { skipped: string } => 'skipped' in c);
    for (const c of skipped) out.push(`_Plot ${c.skipped}._`, '');
    if (s.charts.length > skipped.length) out.push('_Plots: see report.html._', '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export function markdownTable(t: Table): string {
  const cell = (v: string): string => v.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [`| ${t.headers.map(cell).join(' | ')} |`, `| ${t.headers.map(() => '---').join(' | ')} |`];
  for (const row of t.rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** The report as one HTML page with inline CSS and SVG: no script, no external resource. */
export function renderHtml(results: BenchResults, sections: Section[]): string {
  const body: string[] = [`<h1>bering bench: ${esc(results.mode)} run, ${esc(results.startedAt.slice(0, 16).replace('T', ' '))} UTC</h1>`, `<p>${inline(machineLine(results))}</p>`];
  for (const s of sections) {
    body.push(`<h2>${esc(s.heading)}</h2>`);
    for (const p of s.paragraphs) body.push(paragraphHtml(p));
    for (const t of s.tables) body.push(htmlTable(t));
    for (const c of s.charts) body.push('svg' in c ? `<figure>${c.svg}</figure>` : `<p class="note">Plot ${esc(c.skipped)}.</p>`);
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>bering bench: ${esc(results.mode)} run</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td { font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; }
code { background: #f4f4f4; padding: 0 3px; }
.note { color: #666; font-style: italic; }
</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

function htmlTable(t: Table): string {
  const head = `<tr>${t.headers.map((h) => `<th>${inline(h)}</th>`).join('')}</tr>`;
  const rows = t.rows.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`);
  return `<table>\n${head}\n${rows.join('\n')}\n</table>`;
}

function paragraphHtml(p: string): string {
  if (p.startsWith('- ')) return `<ul>${p.split('\n').map((l) => `<li>${inline(l.slice(2))}</li>`).join('')}</ul>`;
  return `<p>${inline(p)}</p>`;
}

/** Escapes text and turns the little markdown used here (`code`, **bold**) into HTML. */
function inline(text: string): string {
  return esc(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

// Helpers.

function machineLine(results: BenchResults): string {
  const m = results.machine;
  return `Machine: ${m.cpu}, ${m.nproc} CPUs, ${m.memory}, ${m.kernel}, Node ${m.node}; bering ${m.bering}. Load average (1, 5, 15 min) at start: ${m.loadAverageAtStart}${m.loadAverageAtEnd === undefined ? '' : `, at end: ${m.loadAverageAtEnd}`}.`;
}

function systemsWithRuns(results: BenchResults, workload: string): string[] {
  return results.systems.map((s) => s.id).filter((id) => results.runs.some((r) => r.system === id && r.workload === workload));
}

function find(results: BenchResults, scenario: string, system: string, workload: string): RunRecord | undefined {
  return results.runs.find((r) => r.scenario === scenario && r.system === system && r.workload === workload);
}

function label(results: BenchResults, id: string): string {
  return results.systems.find((s) => s.id === id)?.label ?? id;
}

function limitText(results: BenchResults, scenario: string, workload: string): string {
  const limits = [...new Set(results.runs.filter((r) => r.scenario === scenario && r.workload === workload).map((r) => r.limitMbps))];
  return limits.filter(Number.isFinite).sort((a, b) => b - a).map(mbps).join(' / ') || '∞';
}

function goodputCell(r: RunRecord): string {
  if (r.status !== 'ok' || r.goodputMbps === null) return statusText(r);
  const ratio = r.ratio === null ? '' : ` (${pct(r.ratio)})`;
  const cc = r.congestionControl !== null && !r.system.endsWith(r.congestionControl) ? ` [ran ${r.congestionControl}]` : '';
  return `${mbps(r.goodputMbps)}${r.complete === false ? '*' : ''}${ratio}${cc}`;
}

function statusText(r: RunRecord): string {
  if (r.status === 'unavailable') return 'n/a';
  return r.goodputMbps !== null ? `failed at ${mbps(r.goodputMbps)}` : 'failed';
}

function ratioText(a: number, b: number): string {
  if (b <= 0) return '∞×';
  const x = a / b;
  return `${x >= 10 ? x.toFixed(0) : x.toFixed(1)}×`;
}

function range(values: number[], digits: number): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo.toFixed(digits) === hi.toFixed(digits) ? lo.toFixed(digits) : `${lo.toFixed(digits)}-${hi.toFixed(digits)}`;
}

/** Mbit/s with about three significant digits. */
export function mbps(v: number): string {
  return v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

function pct(v: number): string {
  return `${(v * 100).toFixed(0)}%`;
}

function ms(v: number | null): string {
  return v === null ? 'never' : `${Math.round(v)} ms`;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}
