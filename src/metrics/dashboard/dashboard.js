// The relay's dashboard: reads /status (paths, streams, problems) and /history (the last few
// minutes, one point a second) from the relay that served this page, every second, and draws them
// as tables and small SVG charts. Plain browser JavaScript with no dependencies: the relay serves
// it as it is, so the page works without a build step and without the internet.
'use strict';

const REFRESH_MS = 1000;
const WINDOW_MS = 5 * 60 * 1000;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const SVG = 'http://www.w3.org/2000/svg';

const mbps = (bits) => `${(bits / 1e6).toFixed(1)} Mbit/s`;
const percent = (r) => (r === null || r === undefined ? '-' : `${(r * 100).toFixed(r < 0.01 ? 2 : 1)}%`);
const ms = (v) => (v === null || v === undefined ? '-' : `${v.toFixed(0)} ms`);

/** What each chart shows: a field of a history point, how to print it, and a floor for its scale. */
const CHARTS = [
  { key: 'rttMs', title: 'RTT', format: ms, floor: 10 },
  { key: 'sendBps', title: 'Send rate', format: mbps, floor: 1e6 },
  { key: 'recvBps', title: 'Receive rate', format: mbps, floor: 1e6 },
  { key: 'lossRaw', title: 'Loss (raw, before FEC)', format: percent, floor: 0.01 },
  { key: 'lossAfterFec', title: 'Loss after FEC (left to retransmission)', format: percent, floor: 0.01 },
  { key: 'fecOverhead', title: 'FEC overhead (repairs per packet)', format: percent, floor: 0.05 },
];

let updates = 0;

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className !== undefined) e.className = className;
  return e;
}

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

function duration(seconds) {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** A chart series per path id: the id stays the same when the tunnel reconnects, the session does not. */
const seriesKey = (p) => `path ${p.path}`;

function color(key) {
  const id = Number(key.slice(5));
  return COLORS[(Number.isFinite(id) ? id : 0) % COLORS.length];
}

function fillRows(tbody, rows) {
  tbody.replaceChildren(
    ...rows.map((r) => {
      const tr = el('tr');
      if (r.attrs !== undefined) for (const [k, v] of Object.entries(r.attrs)) tr.setAttribute(k, v);
      for (const c of r.cells) tr.append(el('td', c.text, c.className));
      return tr;
    }),
  );
}

function renderHeader(status) {
  document.title = `bering ${status.role} relay`;
  document.getElementById('title').textContent = `bering ${status.role} relay ${status.version}, up ${duration(status.uptimeSeconds)}`;
  const health = document.getElementById('health');
  health.textContent = `${status.health.ok ? 'OK' : 'NOT OK'}: ${status.health.reason}`;
  health.className = `pill ${status.health.ok ? 'ok' : 'bad'}`;
  document.getElementById('problems').replaceChildren(...(status.problems ?? []).map((p) => el('li', p.message)));
  const t = status.totals;
  document.getElementById('summary').textContent =
    `${t.open} streams open, ${t.opened} opened, ${t.reset} reset; ${bytes(t.bytesFromTcp)} read from TCP, ${bytes(t.bytesToTcp)} written to TCP; ` +
    `${status.sessions.length} session${status.sessions.length === 1 ? '' : 's'}, ${status.handshakes} handshake${status.handshakes === 1 ? '' : 's'}`;
}

/** The path's figures over the last few points: raw loss weighed by the packets reported, the rest averaged. */
function recent(history, session, path) {
  const points = history.slice(-10).flatMap((h) => h.paths.filter((q) => q.session === session && q.path === path));
  if (points.length === 0) return undefined;
  const mean = (key) => {
    const vs = points.map((q) => q[key]).filter((v) => v !== null);
    return vs.length === 0 ? null : vs.reduce((a, b) => a + b, 0) / vs.length;
  };
  const reported = points.reduce((n, q) => n + q.lossRawPackets, 0);
  const lost = points.reduce((n, q) => n + (q.lossRaw ?? 0) * q.lossRawPackets, 0);
  const last = points[points.length - 1];
  return { lossRaw: reported > 0 ? lost / reported : null, lossAfterFec: mean('lossAfterFec'), fecOverhead: mean('fecOverhead'), sendBps: last.sendBps, recvBps: last.recvBps };
}

function renderPaths(status, history) {
  const rows = [];
  for (const session of status.sessions) {
    for (const p of session.paths) {
      const point = recent(history, session.id, p.id);
      rows.push({
        attrs: { 'data-path': String(p.id), 'data-state': p.state },
        cells: [
          { text: session.id, className: 'text' },
          { text: String(p.id) },
          { text: p.peer, className: 'text' },
          { text: p.state, className: `text state-${p.state}` },
          { text: p.minRttMs === null ? '-' : ms(p.srttMs) },
          { text: percent(point?.lossRaw ?? null) },
          { text: percent(p.lossRatio) },
          { text: percent(point?.lossAfterFec ?? null) },
          { text: percent(point?.fecOverhead ?? null) },
          { text: point === undefined ? '-' : mbps(point.sendBps) },
          { text: point === undefined ? '-' : mbps(point.recvBps) },
          { text: mbps(p.pacingRateBytesPerSecond * 8) },
        ],
      });
    }
  }
  fillRows(document.querySelector('#paths tbody'), rows);
}

function renderStreams(status) {
  fillRows(
    document.querySelector('#streams tbody'),
    status.streams.slice(0, 50).map((s) => ({
      cells: [
        { text: s.sessionId, className: 'text' },
        { text: String(s.streamId) },
        { text: s.service === '' ? '-' : s.service, className: 'text' },
        { text: s.tcp, className: 'text' },
        { text: duration(s.ageSeconds) },
        { text: bytes(s.bytesFromTcp) },
        { text: bytes(s.bytesToTcp) },
      ],
    })),
  );
}

/** One chart: a polyline per path over the last five minutes, scaled to the largest value shown. */
function chart(spec, history, now) {
  const width = 360;
  const height = 120;
  const series = new Map();
  let max = spec.floor;
  for (const point of history) {
    for (const p of point.paths) {
      const v = p[spec.key];
      if (v === null || v === undefined) continue;
      const key = seriesKey(p);
      if (!series.has(key)) series.set(key, []);
      series.get(key).push([point.t, v]);
      if (v > max) max = v;
    }
  }
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  for (const y of [0.25, 0.5, 0.75]) {
    const line = document.createElementNS(SVG, 'line');
    line.setAttribute('class', 'grid');
    line.setAttribute('x1', '0');
    line.setAttribute('x2', String(width));
    line.setAttribute('y1', String(height * y));
    line.setAttribute('y2', String(height * y));
    svg.append(line);
  }
  const legend = el('div', undefined, 'legend');
  for (const [key, points] of series) {
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('stroke', color(key));
    line.setAttribute('data-series', key);
    line.setAttribute(
      'points',
      points
        .map(([t, v]) => `${(((t - (now - WINDOW_MS)) / WINDOW_MS) * width).toFixed(1)},${(height - (v / max) * (height - 4) - 2).toFixed(1)}`)
        .join(' '),
    );
    svg.append(line);
    const tag = el('span', `${key}: ${spec.format(points[points.length - 1][1])}`);
    tag.style.color = color(key);
    legend.append(tag);
  }
  const figure = el('figure');
  figure.setAttribute('data-chart', spec.key);
  const caption = el('figcaption');
  caption.append(el('span', spec.title), el('span', `max ${spec.format(max)}`));
  figure.append(caption, svg, legend);
  return figure;
}

function renderCharts(history) {
  const now = history.length > 0 ? history[history.length - 1].t : Date.now();
  document.getElementById('charts').replaceChildren(...CHARTS.map((spec) => chart(spec, history, now)));
}

async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

async function refresh() {
  const updated = document.getElementById('updated');
  try {
    const [status, history] = await Promise.all([getJson('/status'), getJson('/history')]);
    renderHeader(status);
    renderPaths(status, history);
    renderCharts(history);
    renderStreams(status);
    updates++;
    document.body.dataset.updates = String(updates);
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    updated.className = '';
  } catch (err) {
    // A relay restarting: say so, keep the last figures, and try again.
    updated.textContent = `the relay does not answer (${err.message}); retrying`;
    updated.className = 'pill bad';
  }
  setTimeout(refresh, REFRESH_MS);
}

void refresh();
