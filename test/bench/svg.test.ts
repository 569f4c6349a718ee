import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { lineChart, logTicks, niceTicks } from '../../bench/svg.ts';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' });

type Node = Record<string, unknown>;
const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe('lineChart', () => {
  const svg = lineChart({
    title: 'Goodput <vs> loss & "friends"',
    xLabel: 'loss (%)',
    yLabel: 'Mbit/s',
    series: [
      { name: 'bering', color: '#1f77b4', markers: true, points: [[0, 90], [3, 80], [10, 60]] },
      { name: 'TCP <cubic>', color: '#777', points: [[0, 95], [3, 0.5], [10, NaN]] },
      { name: 'limit', color: '#000', dashed: true, points: [[0, 100], [10, 90]] },
      { name: 'empty', color: '#f00', points: [] },
    ],
  });

  it('is well-formed SVG with escaped text', () => {
    expect(XMLValidator.validate(svg)).toBe(true);
    const root = parser.parse(svg).svg as Node;
    expect(root.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(root.title).toBe('Goodput <vs> loss & "friends"');
  });

  it('has one group per series with a polyline of its finite points', () => {
    const groups = asList((parser.parse(svg).svg as Node).g as Node | Node[]);
    expect(groups.map((g) => g['data-series'])).toEqual(['bering', 'TCP <cubic>', 'limit', 'empty']);
    const points = (g: Node): string[] => String((g.polyline as Node).points).split(' ');
    expect(points(groups[0])).toHaveLength(3);
    expect(points(groups[1])).toHaveLength(2);
    expect(asList(groups[0].circle as Node | Node[])).toHaveLength(3);
    expect((groups[2].polyline as Node)['stroke-dasharray']).toBe('6 4');
    expect(groups[3].polyline).toBeUndefined();
  });

  it('maps data into the plot area, higher values higher up', () => {
    const groups = asList((parser.parse(svg).svg as Node).g as Node | Node[]);
    const [first, second] = String((groups[0].polyline as Node).points)
      .split(' ')
      .map((p) => p.split(',').map(Number));
    expect(second[0]).toBeGreaterThan(first[0]);
    expect(second[1]).toBeGreaterThan(first[1]); // 80 < 90: lower on screen, larger y
  });

  it('draws a log axis over whole 1-2-5 steps', () => {
    const cdf = lineChart({ title: 'cdf', xLabel: 'ms', yLabel: 'share', xLog: true, yMax: 1, series: [{ name: 's', color: '#000', points: [[95, 0.1], [3000, 1]] }] });
    expect(XMLValidator.validate(cdf)).toBe(true);
    expect(cdf).toContain('>50<');
    expect(cdf).toContain('>5k<');
    expect(cdf).not.toContain('>10k<');
  });
});

describe('ticks', () => {
  it('niceTicks steps by 1, 2 or 5 times a power of ten and covers the range', () => {
    expect(niceTicks(0, 97, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 0.63, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
  });

  it('logTicks gives 1, 2, 5 per decade', () => {
    expect(logTicks(50, 1000)).toEqual([50, 100, 200, 500, 1000]);
  });
});
