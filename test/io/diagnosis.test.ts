/**
 * The problem list behind the diagnosis lines: one log line per problem a minute however often
 * it recurs, cleared by the event that ends it, and, for problems nothing can clear, gone a
 * minute after the last report.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../../src/io/diagnosis.ts';

function setup() {
  const lines: Array<{ level: number; msg: string; problem: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l));
      done();
    },
  });
  let now = 1_000_000;
  const d = new Diagnostics(pino({ level: 'info' }, sink), () => now);
  return { d, lines, advance: (ms: number) => (now += ms) };
}

describe('Diagnostics', () => {
  it('logs a recurring problem once a minute, and keeps count', () => {
    const { d, lines, advance } = setup();
    for (let i = 0; i < 30; i++) {
      d.report('path-silent', 'path 1', 'path 1 (198.51.100.2:7001): no answer for 4 s');
      advance(1000);
    }
    expect(lines.map((l) => [l.level, l.problem, l.msg])).toEqual([[40, 'path-silent', 'path 1 (198.51.100.2:7001): no answer for 4 s']]);
    advance(30_000);
    d.report('path-silent', 'path 1', 'path 1 (198.51.100.2:7001): no answer for 4 s');
    expect(lines).toHaveLength(2);
    expect(d.list()).toMatchObject([{ kind: 'path-silent', subject: 'path 1', count: 31, firstAt: 1_000_000 }]);
  });

  it('clears a problem when what ended it happens, saying so once', () => {
    const { d, lines } = setup();
    d.report('forward-failed', 'forward 10.0.0.5:32400', 'forward 10.0.0.5:32400: connection refused (ECONNREFUSED)');
    d.clear('forward-failed', 'forward 10.0.0.5:32400', 'forward 10.0.0.5:32400: connected again');
    d.clear('forward-failed', 'forward 10.0.0.5:32400', 'forward 10.0.0.5:32400: connected again');
    expect(d.list()).toEqual([]);
    expect(lines.map((l) => l.msg)).toEqual(['forward 10.0.0.5:32400: connection refused (ECONNREFUSED)', 'forward 10.0.0.5:32400: connected again']);
  });

  it('lets a wrong key fade a minute after its last handshake, but not a silent path', () => {
    const { d, advance } = setup();
    d.report('wrong-key', '203.0.113.9', 'handshake from 203.0.113.9:41234 failed authentication');
    d.report('path-silent', 'path 1', 'path 1: no answer');
    advance(60_001);
    expect(d.list().map((p) => p.kind)).toEqual(['path-silent']);
  });

  it('clears every problem of a kind at once (a session that ended)', () => {
    const { d } = setup();
    d.report('path-silent', 'path 1', 'a');
    d.report('path-silent', 'path 2', 'b');
    d.report('forward-failed', 'forward x', 'c');
    d.clearAll('path-silent');
    expect(d.list().map((p) => p.subject)).toEqual(['forward x']);
  });
});
