/** The test parser of the Prometheus text format accepts what Prometheus does and nothing else. */
import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from './promText.ts';

describe('parsePrometheusText', () => {
  it('reads families, labels with escapes, special values and histogram samples', () => {
    const m = parsePrometheusText(
      [
        '# HELP a_total Things\\nthat happened.',
        '# TYPE a_total counter',
        'a_total{peer="[::1]:7000",note="say \\"hi\\"\\\\"} 3',
        'a_total{peer="x"} 1e3 1700000000000',
        '# TYPE g gauge',
        'g NaN',
        '# TYPE h histogram',
        'h_bucket{le="+Inf"} 2',
        'h_sum 0.5',
        'h_count 2',
        '',
      ].join('\n'),
    );
    expect(m.get('a_total')).toMatchObject({
      type: 'counter',
      help: 'Things\nthat happened.',
      samples: [
        { labels: { peer: '[::1]:7000', note: 'say "hi"\\' }, value: 3 },
        { labels: { peer: 'x' }, value: 1000 },
      ],
    });
    expect(m.get('g')!.samples[0].value).toBeNaN();
    expect(m.get('h')!.samples.map((s) => s.name)).toEqual(['h_bucket', 'h_sum', 'h_count']);
  });

  it.each([
    ['# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2', 'series given twice'],
    ['y 1', 'sample without a TYPE line'],
    ['# TYPE x gauge\nx{a=1} 1', 'label value not quoted'],
    ['# TYPE x gauge\nx{a="\\t"} 1', 'bad escape'],
    ['# TYPE x gauge\nx{1a="v"} 1', 'bad label name'],
    ['# TYPE x gauge\nx one', 'bad value'],
    ['# TYPE x gauge\nx 1 2 3', 'junk after the value'],
    ['# TYPE x-y gauge', 'bad metric name'],
    ['# TYPE x thing', 'bad type'],
  ])('rejects %j', (text, why) => {
    expect(() => parsePrometheusText(text)).toThrow(why);
  });
});
