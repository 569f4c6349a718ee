/**
 * contrib/grafana-dashboard.json is built on the metric names the relay exports: every name its
 * queries use exists, and every bering metric has a place on it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRelayMetrics, METRICS } from '../../src/metrics/registry.ts';

interface Panel {
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr: string }>;
}

const text = readFileSync(new URL('../../contrib/grafana-dashboard.json', import.meta.url), 'utf8');
const dashboard = JSON.parse(text) as { panels: Panel[]; templating: { list: Array<{ query: unknown }> } };
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

describe('Grafana dashboard', () => {
  it('queries only metrics the relay exports', () => {
    const exported = new Set(
      createRelayMetrics(() => {
        throw new Error('not scraped here');
      })
        .registry.getMetricsAsArray()
        .map((m) => m.name),
    );
    const used = new Set(exprs.flatMap((e) => e.match(/\b(?:bering|process|nodejs)_[a-z0-9_]+/g) ?? []));
    expect(used.size).toBeGreaterThan(20);
    for (const name of used) expect(exported, name).toContain(name);
  });

  it('shows every bering metric', () => {
    for (const m of METRICS) expect(text, m.name).toContain(m.name);
  });

  it('has panels that do not overlap, each with a query', () => {
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      if (p.type !== 'row') expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${p.title} overlaps at ${i},${j}`).toBe(false);
          cells.add(`${i},${j}`);
        }
      }
    }
  });
});
