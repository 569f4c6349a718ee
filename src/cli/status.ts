/**
 * `bering status`: reads a relay's `/status` (its `--metrics` endpoint) and draws it as tables for
 * a person: health, sessions, every path's RTT, loss, pacing and traffic, and the open streams.
 * `--watch` redraws every second until Ctrl-C.
 */
import http from 'node:http';
import { formatHostPort, type HostPort } from '../io/address.ts';
import { formatBytes as bytes } from '../io/formatBytes.ts';
import type { FecShape, PathStatus, RelayStatus, SessionStatus } from '../metrics/status.ts';
import { CliError } from './errors.ts';
import { parseHostPort } from './hostPort.ts';
import { parseStrict } from './relayOptions.ts';

/** Where `bering status` looks when not told: what the example configs in contrib/ use. */
export const DEFAULT_METRICS: HostPort = { host: '127.0.0.1', port: 9090 };

export const STATUS_USAGE = `Usage:
  bering status [--metrics H:P] [--watch]

Shows a relay's sessions, paths and streams, read from its metrics endpoint (bering relay --metrics).

Options:
  --metrics H:P   the relay's metrics endpoint (default ${formatHostPort(DEFAULT_METRICS)})
  --watch         redraw every second until Ctrl-C, with each path's throughput
  -h, --help      show this help`;

const STATUS_FLAGS = {
  metrics: { type: 'string' },
  watch: { type: 'boolean', short: 'w' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `bering status`; resolves with the exit status. */
export async function statusCommand(args: string[]): Promise<number> {
  const { values } = parseStrict(args, STATUS_FLAGS);
  if (values.help) {
    process.stdout.write(`${STATUS_USAGE}\n`);
    return 0;
  }
  const endpoint = values.metrics === undefined ? DEFAULT_METRICS : parseHostPort(values.metrics, '--metrics');
  if (!values.watch) {
    process.stdout.write(renderStatus(await fetchStatus(endpoint)));
    return 0;
  }
  return watch(endpoint);
}

/** Redraws every second; a relay that is away (restarting) shows as an error line until it is back. */
async function watch(endpoint: HostPort): Promise<number> {
  let stopped = false;
  let wake: () => void = () => {};
  const stop = (): void => {
    stopped = true;
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let previous: RelayStatus | undefined;
  while (!stopped) {
    let screen: string;
    try {
      const status = await fetchStatus(endpoint);
      screen = renderStatus(status, previous);
      previous = status;
    } catch (err) {
      screen = `bering status: ${(err as Error).message}\n`;
    }
    if (stopped) break;
    // Home, clear the screen, draw: one write, so the terminal never shows half a frame.
    process.stdout.write(`\x1b[H\x1b[2J${new Date().toLocaleTimeString()}  (Ctrl-C to quit)\n${screen}`);
    await new Promise<void>((ok) => {
      const timer = setTimeout(ok, 1000);
      wake = () => {
        clearTimeout(timer);
        ok();
      };
    });
  }
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  return 0;
}

/** GETs `/status` from a relay; throws a `CliError` in one line when that fails. */
function fetchStatus(endpoint: HostPort, timeoutMs = 3000): Promise<RelayStatus> {
  const url = `http://${formatHostPort(endpoint)}/status`;
  const fail = (why: string) => new CliError(`cannot read ${url}: ${why}`);
  return new Promise((ok, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('error', (err) => reject(fail(err.message)));
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(fail(`HTTP ${res.statusCode}; is ${formatHostPort(endpoint)} a bering relay's --metrics address?`));
          return;
        }
        try {
          const status = JSON.parse(body) as RelayStatus;
          if (!Array.isArray(status.sessions) || typeof status.health !== 'object') throw new Error('not bering status JSON');
          ok(status);
        } catch {
          reject(fail(`the answer is not bering status JSON; is ${formatHostPort(endpoint)} a bering relay's --metrics address?`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ECONNREFUSED'
          ? `connection refused (is a relay running with --metrics ${formatHostPort(endpoint)}?)`
          : err.code === 'ENOTFOUND'
            ? 'host name not found'
            : err.message;
      reject(fail(why));
    });
  });
}

/**
 * Draws a snapshot as text: a header, the problems, one table of paths per session, then the
 * open streams. Given the `previous` snapshot (`--watch`), each path also shows its throughput
 * since then, both ways.
 */
export function renderStatus(s: RelayStatus, previous?: RelayStatus): string {
  const out: string[] = [];
  out.push(`bering ${s.role} relay ${s.version}, up ${duration(s.uptimeSeconds)}: ${s.health.ok ? 'OK' : 'NOT OK'}, ${s.health.reason}`);
  // Older relays' /status has no problems list.
  for (const p of s.problems ?? []) {
    const seen = p.count > 1 ? ` (first seen ${duration((Date.now() - p.firstAt) / 1000)} ago, last ${duration((Date.now() - p.lastAt) / 1000)} ago)` : '';
    out.push(`problem    ${p.message}${seen}`);
  }
  const tcp = s.listening.tcp.map((t) => (t.service === '' ? t.address : `${t.address} (${t.service})`));
  if (tcp.length > 0) out.push(`listening  tcp ${tcp.join(', ')}`);
  if (s.listening.udp.length > 0) out.push(`listening  udp ${s.listening.udp.join(', ')}`);
  const t = s.totals;
  out.push(
    `streams    ${t.open} open, ${t.opened} opened, ${t.reset} reset; ${bytes(t.bytesFromTcp)} read from TCP, ${bytes(t.bytesToTcp)} written to TCP`,
  );
  const l = s.listener;
  const listener =
    l === null
      ? ''
      : `; auth failures ${l.authFailures}${l.handshakeAuthFailures > 0 ? ` (${l.handshakeAuthFailures} handshakes under another key)` : ''}, replays ${l.replays}, refused ${l.sessionsRefused + l.handshakesRateLimited}` +
        (l.unknownSessionPackets > 0 ? `, ${l.unknownSessionPackets} packets for sessions of an earlier run` : '');
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  out.push(`tunnel     ${plural(s.sessions.length, 'session')}, ${plural(s.handshakes, 'handshake')}${listener}`);
  const elapsed = previous === undefined ? 0 : s.uptimeSeconds - previous.uptimeSeconds;
  for (const session of s.sessions) {
    const before = elapsed > 0 ? previous!.sessions.find((x) => x.id === session.id) : undefined;
    out.push('', ...renderSession(session, before === undefined ? undefined : { session: before, seconds: elapsed }));
  }
  if (s.streams.length > 0) {
    out.push('', 'streams');
    const shown = s.streams.slice(0, 20);
    out.push(
      ...table(
        ['SESSION', 'STREAM', 'SERVICE', 'TCP', 'AGE', 'FROM TCP', 'TO TCP'],
        shown.map((x) => [x.sessionId, String(x.streamId), x.service === '' ? '-' : x.service, x.tcp, duration(x.ageSeconds), bytes(x.bytesFromTcp), bytes(x.bytesToTcp)]),
        [false, true, false, false, true, true, true],
      ),
    );
    if (s.streams.length > shown.length) out.push(`  ... and ${s.streams.length - shown.length} more`);
  }
  return `${out.join('\n')}\n`;
}

/** `before`: the same session in the previous snapshot and the seconds between, for throughput. */
function renderSession(session: SessionStatus, before?: { session: SessionStatus; seconds: number }): string[] {
  const f = session.figures;
  const head = [`session ${session.id}`, session.connected ? `up ${duration(session.upSeconds ?? 0)}` : 'handshaking'];
  if (session.worker !== undefined) head.push(`worker ${session.worker}`);
  if (f !== null) {
    head.push(
      `${f.activeStreams} streams`,
      `FEC bulk ${fec(f.fec.bulk)}, latency ${fec(f.fec.latency)}`,
      `restored ${f.fecRestoredPackets} packets`,
      `${f.fecFailedGroups} groups beyond repair`,
      `retransmitted ${bytes(f.retransmittedBytes)}`,
    );
  }
  const rate = (p: PathStatus, key: 'bytesSent' | 'bytesReceived'): string => {
    const old = before?.session.paths.find((x) => x.id === p.id);
    return old === undefined ? '-' : mbps(((p[key] - old[key]) * 8) / before!.seconds);
  };
  const rows = session.paths.map((p: PathStatus) => [
    String(p.id),
    p.peer,
    p.state,
    p.minRttMs === null ? '-' : `${p.srttMs.toFixed(0)} ms`,
    p.minRttMs === null ? '-' : `${p.minRttMs.toFixed(0)} ms`,
    // Until the peer reports, the loss FEC works with is the prior: not shown as a measurement.
    p.lossRatio === null ? '-' : `${(p.lossRatio * 100).toFixed(1)}%`,
    p.meanLossBurst === null ? '-' : p.meanLossBurst.toFixed(1),
    ...(before === undefined ? [] : [rate(p, 'bytesSent'), rate(p, 'bytesReceived')]),
    `${((p.pacingRateBytesPerSecond * 8) / 1e6).toFixed(1)} Mbit/s`,
    bytes(p.bytesInFlight),
    bytes(p.bytesSent),
    bytes(p.bytesReceived),
    String(p.packetsLost),
    String(p.fecRestoredPackets),
  ]);
  return [
    head.join(', '),
    ...table(
      ['PATH', 'PEER', 'STATE', 'RTT', 'MIN RTT', 'LOSS', 'BURST', ...(before === undefined ? [] : ['SEND', 'RECV']), 'PACING', 'IN FLIGHT', 'SENT', 'RECEIVED', 'LOST', 'FEC FIXED'],
      rows,
      [true, false, false, true, true, true, true, ...(before === undefined ? [] : [true, true]), true, true, true, true, true, true],
    ),
  ];
}

/** 12.3 Mbit/s. */
function mbps(bitsPerSecond: number): string {
  return `${(Math.max(0, bitsPerSecond) / 1e6).toFixed(1)} Mbit/s`;
}

function fec(shape: FecShape | null): string {
  return shape === null || shape.m === 0 ? 'off' : `${shape.m}/${shape.k} (${((shape.m / shape.k) * 100).toFixed(1)}%)`;
}

/** Columns padded to their widest cell, two spaces apart, indented by two; `right` aligns numbers. */
function table(header: string[], rows: string[][], right: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

/** 45s, 12m 3s, 2h 13m, 3d 4h. */
function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}
