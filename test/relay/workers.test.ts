/**
 * `bering relay --workers 2` as a process: an exit relay whose sessions run on two worker threads
 * serves two entry relay processes at once. Each entry relay's session must land on a worker of
 * its own, carry its bytes intact both ways, and show in the one `/status` the main thread serves;
 * junk at the shared sockets is counted there, and SIGTERM drains and exits 0.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostPort } from '../../src/io/address.ts';
import type { RelayStatus } from '../../src/metrics/status.ts';
import { BeringProcess, run, tempDir, writeTemp } from '../cli/run.ts';
import { collect, connect, freePort, Service, sha256 } from './harness.ts';

let service: Service;
let exit: BeringProcess;
const entries: BeringProcess[] = [];
const entryAddrs: HostPort[] = [];
let udpPorts: number[];
let metricsPort: number;

async function status(): Promise<RelayStatus> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/status`);
  return (await res.json()) as RelayStatus;
}

beforeAll(async () => {
  const keyFile = writeTemp(tempDir(), 'bering.key', (await run(['keygen'])).stdout);
  service = await Service.start();
  udpPorts = [await freePort('udp'), await freePort('udp')];
  metricsPort = await freePort('tcp');
  exit = BeringProcess.start([
    'relay',
    '--udp-listen',
    udpPorts.map((p) => `127.0.0.1:${p}`).join(','),
    '--forward',
    `127.0.0.1:${service.address.port}`,
    '--key-file',
    keyFile,
    '--workers',
    '2',
    '--metrics',
    `127.0.0.1:${metricsPort}`,
  ]);
  await exit.waitFor('relay running');
  for (const peers of [udpPorts.map((p) => `127.0.0.1:${p}`).join(','), `127.0.0.1:${udpPorts[0]}`]) {
    const addr = { host: '127.0.0.1', port: await freePort('tcp') };
    const entry = BeringProcess.start(['relay', '--tcp-listen', `127.0.0.1:${addr.port}`, '--peer', peers, '--key-file', keyFile]);
    entries.push(entry);
    entryAddrs.push(addr);
    await entry.waitFor('session up');
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([...entries.map((e) => e.kill('SIGKILL')), exit?.kill('SIGKILL')]);
  await service?.close();
});

describe('an exit relay with two worker threads and two entry relays', () => {
  it('puts each entry relay on a worker of its own', () => {
    const ups = exit.logs.filter((l) => l.msg === 'session up');
    expect(ups).toHaveLength(2);
    expect(new Set(ups.map((l) => l.worker))).toEqual(new Set([0, 1]));
    // Each worker hands out ids of its own residue, so the main thread routes by id alone.
    for (const l of ups) expect(Number(l.sessionId) % 2).toBe(l.worker);
  });

  it('carries both entry relays at once, bytes intact both ways', async () => {
    service.onConnection = (socket) => socket.pipe(socket);
    const payloads = entryAddrs.map(() => randomBytes(3 << 20));
    const echoes = await Promise.all(
      entryAddrs.map((addr, i) => {
        const client = connect(addr);
        const echoed = collect(client);
        client.end(payloads[i]);
        return echoed;
      }),
    );
    echoes.forEach((e, i) => expect(e).toMatchObject({ bytes: payloads[i].length, sha256: sha256(payloads[i]), ended: true, error: null }));
  });

  it('shows both sessions and every path in one /status, and counts junk at the shared sockets', async () => {
    const junk = dgram.createSocket('udp4');
    await new Promise<void>((ok) => junk.send(Buffer.from('not a bering packet'), udpPorts[1], '127.0.0.1', () => ok()));
    junk.close();
    let s = await status();
    for (let tries = 0; s.listener!.authFailures < 1 && tries < 50; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      s = await status();
    }
    expect(s.health.ok).toBe(true);
    expect(s.sessions.filter((x) => x.connected)).toHaveLength(2);
    expect(new Set(s.sessions.map((x) => x.worker))).toEqual(new Set([0, 1]));
    expect(s.sessions.map((x) => x.paths.length).sort()).toEqual([1, 2]);
    expect(s.handshakes).toBe(2);
    expect(s.listener!.authFailures).toBeGreaterThanOrEqual(1);
    expect(s.totals.finished).toBeGreaterThanOrEqual(2);
    expect(s.listening.udp).toEqual(udpPorts.map((p) => `127.0.0.1:${p}`));
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^bering_sessions 2$/m);
  });

  it('drains on SIGTERM and exits 0 with the totals of both workers', async () => {
    exit.child.kill('SIGTERM');
    expect(await exit.exited).toBe(0);
    const stopped = exit.logs.find((l) => l.msg === 'stopped') as { streams: { finished: number } } | undefined;
    expect(stopped?.streams.finished).toBeGreaterThanOrEqual(2);
    for (const entry of entries) await entry.waitFor('session down');
  });
});
