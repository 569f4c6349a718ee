/**
 * Line charts as inline SVG text for the HTML report: no library, no script, so the report is one
 * self-contained file that opens anywhere. Each series is a `<g data-series="name">` holding its
 * polyline (and point markers when asked), which is also what the tests look for.
 */

export interface Series {
  name: string;
  /** [x, y] in data units; points outside the axes are clamped to the plot's edge. */
  points: Array<[number, number]>;
  /** CSS colour. */
  color: string;
  dashed?: boolean;
  /** Draw a dot on each point (sparse data such as one point per scenario). */
  markers?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Logarithmic x axis (decades), e.g. for delays spanning 90 ms to 10 s. */
  xLog?: boolean;
  /** Axis ranges; by default they span the data (y from 0). */
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
}

const MARGIN = { left: 64, right: 180, top: 36, bottom: 48 };

/** Renders `spec` as a standalone `<svg>` element. O(total points). */
export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 760;
  const height = spec.height ?? 340;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0])).filter((v) => Number.isFinite(v) && (!spec.xLog || v > 0));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);

  let xMin = spec.xMin ?? (xs.length > 0 ? Math.min(...xs) : 0);
  let xMax = spec.xMax ?? (xs.length > 0 ? Math.max(...xs) : 1);
  if (spec.xLog) {
    xMin = logFloor(xMin > 0 ? xMin : 1);
    xMax = logCeil(xMax > xMin ? xMax : xMin * 10);
  }
  if (xMax <= xMin) xMax = xMin + 1;
  const yMin = spec.yMin ?? 0;
  const yTicks = niceTicks(yMin, spec.yMax ?? Math.max(yMin + 1e-9, ...ys), 5);
  const yMax = spec.yMax ?? yTicks[yTicks.length - 1];
  const xTicks = spec.xLog ? logTicks(xMin, xMax) : niceTicks(xMin, xMax, 6);
  // A linear axis ends on a round tick unless its end was given.
  if (!spec.xLog && spec.xMax === undefined) xMax = xTicks[xTicks.length - 1];

  const px = (x: number): number => {
    const f = spec.xLog ? (Math.log10(Math.max(x, xMin)) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin)) : (x - xMin) / (xMax - xMin);
    return MARGIN.left + clamp01(f) * plotW;
  };
  const py = (y: number): number => MARGIN.top + (1 - clamp01((y - yMin) / (yMax - yMin))) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
      `role="img" aria-label="${esc(spec.title)}" font-family="system-ui, sans-serif" font-size="12">`,
  );
  out.push(`<title>${esc(spec.title)}</title>`);
  out.push(`<text x="${MARGIN.left}" y="20" font-size="14" font-weight="600">${esc(spec.title)}</text>`);
  // Grid and tick labels.
  for (const t of yTicks) {
    if (t > yMax) continue;
    const y = fmt(py(t));
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(tickLabel(t))}</text>`);
  }
  for (const t of xTicks) {
    const x = fmt(px(t));
    out.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eeeeee"/>`);
    out.push(`<text x="${x}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${esc(tickLabel(t))}</text>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(
    `<text x="16" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + plotH / 2})">${esc(spec.yLabel)}</text>`,
  );
  // Series, then the legend beside the plot.
  spec.series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!spec.xLog || x > 0));
    out.push(`<g data-series="${esc(s.name)}">`);
    if (pts.length > 0) {
      const coords = pts.map(([x, y]) => `${fmt(px(x))},${fmt(py(y))}`).join(' ');
      const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
      out.push(`<polyline points="${coords}" fill="none" stroke="${esc(s.color)}" stroke-width="2"${dash}/>`);
      if (s.markers) {
        for (const [x, y] of pts) out.push(`<circle cx="${fmt(px(x))}" cy="${fmt(py(y))}" r="3.5" fill="${esc(s.color)}"/>`);
      }
    }
    out.push('</g>');
    const ly = MARGIN.top + 8 + i * 18;
    const lx = MARGIN.left + plotW + 14;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${esc(s.color)}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** About `count` round tick values (1, 2 or 5 times a power of ten apart) covering [min, max]. */
export function niceTicks(min: number, max: number, count: number): number[] {
  const span = max - min;
  if (!(span > 0)) return [min];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.floor(min / step) * step; t < max + step * 0.999; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Ticks of a decade axis: 1, 2 and 5 times each power of ten in [min, max]. */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let p = Math.floor(Math.log10(min)); 10 ** p <= max; p++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** p;
      if (t >= min && t <= max) ticks.push(Number(t.toPrecision(12)));
    }
  }
  return ticks;
}

/** The largest 1, 2 or 5 times a power of ten at or below `v` (> 0). */
function logFloor(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [5, 2, 1].map((m) => m * p).find((t) => t <= v * (1 + 1e-9)) ?? p;
}

/** The smallest 1, 2 or 5 times a power of ten at or above `v` (> 0). */
function logCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((t) => t >= v * (1 - 1e-9)) ?? 10 * p;
}

function tickLabel(v: number): string {
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

function clamp01(f: number): number {
  return f < 0 ? 0 : f > 1 ? 1 : f;
}

function fmt(v: number): string {
  return v.toFixed(1);
}

/** Escapes text for an XML attribute or element. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
