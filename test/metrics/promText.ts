/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: it rejects
 * what a Prometheus server would (bad names, bad escapes, samples before their TYPE, a series
 * given twice), so a passing scrape is one Prometheus can ingest.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
/** Sample name suffixes that belong to a histogram or summary family. */
const SUFFIXES = ['_bucket', '_sum', '_count'];

/** Parses a whole scrape into families by name; throws naming the line on anything malformed. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) return;
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) fail('bad metric name');
      const family = families.get(name) ?? { name, type: 'untyped' as const, help: '', samples: [] };
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) fail('bad type');
        if (family.samples.length > 0) fail('TYPE after samples');
        family.type = rest as Family['type'];
      } else {
        family.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      }
      families.set(name, family);
      return;
    }
    const sample = parseSample(line, fail);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) fail('series given twice');
    seen.add(key);
    const base = SUFFIXES.find((s) => sample.name.endsWith(s) && families.has(sample.name.slice(0, -s.length)));
    const family = families.get(base === undefined ? sample.name : sample.name.slice(0, -base.length));
    if (family === undefined) fail('sample without a TYPE line');
    family!.samples.push(sample);
  });
  return families;
}

function parseSample(line: string, fail: (why: string) => never): Sample {
  const nameEnd = line.search(/[{ ]/);
  if (nameEnd <= 0) fail('no value');
  const name = line.slice(0, nameEnd);
  if (!METRIC_NAME.test(name)) fail('bad metric name');
  const labels: Record<string, string> = {};
  let at = nameEnd;
  if (line[at] === '{') {
    at++;
    while (line[at] !== '}') {
      const eq = line.indexOf('=', at);
      if (eq < 0) fail('label without a value');
      const label = line.slice(at, eq);
      if (!LABEL_NAME.test(label)) fail(`bad label name '${label}'`);
      if (label in labels) fail(`label '${label}' given twice`);
      if (line[eq + 1] !== '"') fail('label value not quoted');
      let value = '';
      let j = eq + 2;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] !== '\\') {
          value += line[j];
          continue;
        }
        const esc = line[++j];
        if (esc === 'n') value += '\n';
        else if (esc === '\\' || esc === '"') value += esc;
        else fail('bad escape in a label value');
      }
      if (j >= line.length) fail('unterminated label value');
      labels[label] = value;
      at = j + 1;
      if (line[at] === ',') at++;
      else if (line[at] !== '}') fail('expected , or } after a label');
    }
    at++;
  }
  if (line[at] !== ' ') fail('expected a space before the value');
  const [valueText, timestamp, extra] = line.slice(at + 1).split(' ');
  if (extra !== undefined || (timestamp !== undefined && !/^-?[0-9]+$/.test(timestamp))) fail('junk after the value');
  // Prometheus parses values with Go's ParseFloat, which takes NaN in any case; prom-client's
  // event-loop lag gauges print "Nan" before their first sample.
  const isNaNText = /^nan$/i.test(valueText);
  const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : isNaNText ? NaN : Number(valueText);
  if (valueText === '' || (Number.isNaN(value) && !isNaNText)) fail('bad value');
  return { name, labels, value };
}
