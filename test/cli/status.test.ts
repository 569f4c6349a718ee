/**
 * `bering status` as a user runs it, against a metrics endpoint serving a fixed snapshot: the
 * tables it draws, `--watch` redrawing until Ctrl-C (exit 0), and the one-line error when nothing
 * answers.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatHostPort } from '../../src/io/address.ts';
import { startMetricsServer, type MetricsServer } from '../../src/metrics/server.ts';
import type { RelayStatus } from '../../src/metrics/status.ts';
import { renderStatus } from '../../src/cli/status.ts';
import { freePort } from '../relay/harness.ts';
import { beringNodeArgs, run } from './run.ts';

const SNAPSHOT: RelayStatus = {
  role: 'entry',
  dials: true,
  version: '0.1.0',
  uptimeSeconds: 7_980,
  health: { ok: true, reason: 'session 3054 up with 1 of 2 paths up' },
  problems: [
    {
      kind: 'path-silent',
      subject: 'path 1',
      message: 'path 1 ([2001:db8::7]:7000): no answer for 4 s: is UDP 7000 open in the other relay\'s firewall, and does 2001:db8::7 reach it (IPv4 or IPv6)?',
      firstAt: Date.now() - 60_000,
      lastAt: Date.now() - 60_000,
      count: 1,
    },
  ],
  listening: { tcp: [{ service: '', address: '0.0.0.0:32400' }, { service: 'ssh', address: '0.0.0.0:2222' }], udp: [] },
  handshakes: 1,
  listener: null,
  totals: { open: 1, opened: 17, finished: 15, reset: 1, bytesFromTcp: 5_000_000, bytesToTcp: 3 * 2 ** 30, connectionsRefusedPerIp: 0 },
  sessions: [
    {
      id: '3054',
      localId: 3054,
      connected: true,
      upSeconds: 7_900,
      figures: {
        activeStreams: 1,
        streamsOpened: 17,
        streamsReset: 1,
        bytesWritten: 5_000_000,
        bytesRead: 3 * 2 ** 30,
        retransmittedBytes: 12 * 2 ** 20,
        packetsDropped: 0,
        fecRestoredPackets: 1234,
        fecFailedGroups: 2,
        keyUpdates: { sent: 65, received: 65 },
        fec: { bulk: { k: 128, m: 9, depth: 2 }, latency: null },
      },
      paths: [
        {
          id: 0,
          peer: '203.0.113.7:7000',
          state: 'up',
          srttMs: 182.4,
          minRttMs: 178.1,
          lossRatio: 0.031,
          meanLossBurst: 1.8,
          lossMeasuredPackets: 2_400_000,
          reportedPackets: 2_400_000,
          reportedLostPackets: 74_400,
          pacingRateBytesPerSecond: 9_275_000,
          cwndBytes: 4_000_000,
          bytesInFlight: 2_100_000,
          ccState: 'probe_bw',
          packetsSent: 900,
          bytesSent: 1_000_000,
          packetsReceived: 2_400_000,
          bytesReceived: 3 * 2 ** 30,
          packetsLost: 40,
          retransmittedFrames: 41,
          probeTimeouts: 0,
          fecRestoredPackets: 1200,
          fecRepairPacketsSent: 3,
        },
        {
          id: 1,
          peer: '[2001:db8::7]:7000',
          state: 'down',
          srttMs: 200,
          minRttMs: null,
          lossRatio: null,
          meanLossBurst: null,
          lossMeasuredPackets: 0,
          reportedPackets: 0,
          reportedLostPackets: 0,
          pacingRateBytesPerSecond: 0,
          cwndBytes: 86_400,
          bytesInFlight: 0,
          ccState: 'startup',
          packetsSent: 12,
          bytesSent: 600,
          packetsReceived: 0,
          bytesReceived: 0,
          packetsLost: 0,
          retransmittedFrames: 0,
          probeTimeouts: 3,
          fecRestoredPackets: 0,
          fecRepairPacketsSent: 0,
        },
      ],
    },
  ],
  streams: [{ sessionId: '3054', streamId: 16, service: '', tcp: '198.51.100.9:51234', bytesFromTcp: 4_000, bytesToTcp: 2 ** 30, ageSeconds: 725 }],
};

let server: MetricsServer;
let address: string;
beforeAll(async () => {
  // The relay's uptime advances between requests, so --watch has an interval to rate over; within
  // a minute of the start it still reads 2h 13m, as the one-shot rendering does.
  const started = performance.now();
  const status = () => ({ ...SNAPSHOT, uptimeSeconds: SNAPSHOT.uptimeSeconds + (performance.now() - started) / 1000 });
  server = await startMetricsServer({ listen: { host: '127.0.0.1', port: 0 }, status, log: pino({ level: 'silent' }) });
  address = formatHostPort(server.address);
});
afterAll(() => server.close());

describe('bering status', () => {
  it('draws health, listeners, a path table per session and the streams', () => {
    const lines = renderStatus(SNAPSHOT).split('\n');
    expect(lines[0]).toBe('bering entry relay 0.1.0, up 2h 13m: OK, session 3054 up with 1 of 2 paths up');
    expect(lines).toContain('listening  tcp 0.0.0.0:32400, 0.0.0.0:2222 (ssh)');
    expect(lines).toContain('streams    1 open, 17 opened, 1 reset; 4.8 MiB read from TCP, 3.0 GiB written to TCP');
    expect(lines).toContain(
      'session 3054, up 2h 11m, 1 streams, FEC bulk 9/128 (7.0%), latency off, restored 1234 packets, 2 groups beyond repair, retransmitted 12.0 MiB',
    );
    const header = lines.findIndex((l) => l.trimStart().startsWith('PATH'));
    expect(lines[header].trim().split(/\s{2,}/)).toEqual([
      'PATH', 'PEER', 'STATE', 'RTT', 'MIN RTT', 'LOSS', 'BURST', 'PACING', 'IN FLIGHT', 'SENT', 'RECEIVED', 'LOST', 'FEC FIXED',
    ]);
    expect(lines[header + 1].trim().split(/\s{2,}/)).toEqual([
      '0', '203.0.113.7:7000', 'up', '182 ms', '178 ms', '3.1%', '1.8', '74.2 Mbit/s', '2.0 MiB', '976.6 KiB', '3.0 GiB', '40', '1200',
    ]);
    // No RTT sample yet on path 1: no figure rather than the initial guess.
    // No RTT sample yet on path 1: no figure rather than the initial guess; no loss report: no prior shown as loss.
    expect(lines[header + 2].trim().split(/\s{2,}/).slice(0, 7)).toEqual(['1', '[2001:db8::7]:7000', 'down', '-', '-', '-', '-']);
    expect(lines[1]).toBe(`problem    ${SNAPSHOT.problems[0].message}`);
    expect(lines.at(-2)!.trim().split(/\s{2,}/)).toEqual(['3054', '16', '-', '198.51.100.9:51234', '12m 5s', '3.9 KiB', '1.0 GiB']);
  });

  it('shows each path\'s throughput since the previous snapshot', () => {
    const earlier = structuredClone(SNAPSHOT);
    earlier.uptimeSeconds -= 2;
    earlier.sessions[0].paths[0].bytesSent -= 1_000_000;
    earlier.sessions[0].paths[0].bytesReceived -= 25_000_000;
    const lines = renderStatus(SNAPSHOT, earlier).split('\n');
    const header = lines.findIndex((l) => l.trimStart().startsWith('PATH'));
    const cells = lines[header].trim().split(/\s{2,}/);
    const row = lines[header + 1].trim().split(/\s{2,}/);
    expect(row[cells.indexOf('SEND')]).toBe('4.0 Mbit/s');
    expect(row[cells.indexOf('RECV')]).toBe('100.0 Mbit/s');
    expect(lines[header + 2].trim().split(/\s{2,}/)[cells.indexOf('SEND')]).toBe('0.0 Mbit/s');
  });

  it('reads a relay over HTTP', async () => {
    const r = await run(['status', '--metrics', address]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(renderStatus(SNAPSHOT));
  });

  it('--watch redraws every second and exits 0 on Ctrl-C', async () => {
    const child = spawn(process.execPath, beringNodeArgs(['status', '--watch', '--metrics', address]), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    const frames = () => stdout.split('\x1b[H\x1b[2J').length - 1;
    const started = Date.now();
    while (frames() < 2 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
    expect(frames()).toBe(2);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toContain('(Ctrl-C to quit)\nbering entry relay 0.1.0');
    // The second frame has a snapshot to compare with: throughput columns.
    expect(stdout.split('\x1b[H\x1b[2J')[1]).not.toContain('SEND');
    expect(stdout.split('\x1b[H\x1b[2J')[2]).toContain('SEND');
  });

  it('says in one line when no relay answers', async () => {
    const port = await freePort('tcp');
    const r = await run(['status', '--metrics', `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `bering: error: cannot read http://127.0.0.1:${port}/status: connection refused (is a relay running with --metrics 127.0.0.1:${port}?)\n`,
    );
  });

  it('says in one line when something else answers', async () => {
    const other = http.createServer((_req, res) => res.writeHead(404).end('no'));
    await new Promise<void>((ok) => other.listen(0, '127.0.0.1', ok));
    const at = `127.0.0.1:${(other.address() as AddressInfo).port}`;
    const r = await run(['status', '--metrics', at]);
    other.close();
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`bering: error: cannot read http://${at}/status: HTTP 404; is ${at} a bering relay's --metrics address?\n`);
  });

  it('rejects a bad address', async () => {
    const r = await run(['status', '--metrics', 'nowhere']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("bering: error: --metrics: bad address 'nowhere': expected host:port\n");
  });
});
