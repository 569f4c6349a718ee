/**
 * End to end with the real core: two `bin/bering relay` processes on loopback, the entry relay's
 * two paths crossing an impairment proxy (15 ms one-way, 2% loss each way), a TCP service behind
 * the exit relay. Checks bytes both ways, many streams at once, half-close, resets both ways, and
 * a graceful SIGTERM that lets an open stream finish.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostPort } from '../../src/io/address.ts';
import { ImpairmentProxy } from '../../src/lab/impairmentProxy.ts';
import { BeringProcess, run, tempDir, writeTemp } from '../cli/run.ts';
import { collect, connect, exchange, freePort, Service, sha256 } from './harness.ts';

const LINK = { delayMs: 15, lossRate: 0.02, rateMbps: 200, queueMs: 50 };

let service: Service;
let proxy: ImpairmentProxy;
let exit: BeringProcess;
let entry: BeringProcess;
let entryAddr: HostPort;

beforeAll(async () => {
  const keyFile = writeTemp(tempDir(), 'bering.key', (await run(['keygen'])).stdout);
  service = await Service.start();
  const udpPort = await freePort('udp');
  exit = BeringProcess.start(['relay', '--udp-listen', `127.0.0.1:${udpPort}`, '--forward', `127.0.0.1:${service.address.port}`, '--key-file', keyFile]);
  await exit.waitFor('listening for peers');
  proxy = await ImpairmentProxy.start({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: udpPort }, aToB: LINK, bToA: LINK, seed: 7 });
  const via = `127.0.0.1:${proxy.address.port}`;
  entryAddr = { host: '127.0.0.1', port: await freePort('tcp') };
  entry = BeringProcess.start(['relay', '--tcp-listen', `127.0.0.1:${entryAddr.port}`, '--peer', `${via},${via}`, '--key-file', keyFile, '--drain-timeout', '20']);
  await entry.waitFor('session up');
});

afterAll(async () => {
  await Promise.all([entry?.kill('SIGKILL'), exit?.kill('SIGKILL')]);
  proxy?.close();
  await service?.close();
});

describe('two relay processes over an impaired path', () => {
  it('carries 8 MiB each way at once, intact', async () => {
    const up = randomBytes(8 << 20);
    const down = randomBytes(8 << 20);
    const { atService: s, atClient: c } = await exchange(entryAddr, service, up, down);
    expect(s).toMatchObject({ bytes: up.length, sha256: sha256(up), ended: true, error: null });
    expect(c).toMatchObject({ bytes: down.length, sha256: sha256(down), ended: true, error: null });
    expect(proxy.stats().aToB.droppedLoss).toBeGreaterThan(0);
  });

  it('runs many streams at once', async () => {
    service.onConnection = (s) => s.pipe(s);
    const payloads = Array.from({ length: 16 }, () => randomBytes(200_000));
    const results = await Promise.all(
      payloads.map((p) => {
        const c = connect(entryAddr);
        const r = collect(c);
        c.end(p);
        return r;
      }),
    );
    results.forEach((r, i) => expect(r).toMatchObject({ bytes: payloads[i].length, sha256: sha256(payloads[i]), ended: true }));
  });

  it('keeps the reply direction open after the client half-closes', async () => {
    const reply = randomBytes(300_000);
    service.onConnection = (s) => {
      s.resume();
      s.on('end', () => s.end(reply));
    };
    const client = connect(entryAddr);
    const atClient = collect(client);
    client.end('done asking');
    expect(await atClient).toMatchObject({ bytes: reply.length, sha256: sha256(reply), ended: true });
  });

  it('propagates a client reset to the service', async () => {
    const at = nextConnection();
    const client = connect(entryAddr);
    client.write('partial request');
    const { received } = await at;
    client.resetAndDestroy();
    expect(await received).toMatchObject({ ended: false, error: 'ECONNRESET' });
  });

  it('propagates a service reset to the client', async () => {
    const at = nextConnection();
    const client = connect(entryAddr);
    const atClient = collect(client);
    client.write('hello?');
    (await at).socket.resetAndDestroy();
    expect(await atClient).toMatchObject({ ended: false, error: 'ECONNRESET' });
  });

  it('on SIGTERM lets an open stream finish, then exits 0', async () => {
    const at = nextConnection();
    const client = connect(entryAddr);
    const atClient = collect(client);
    client.write('first half;');
    const { socket, received } = await at;
    const stopped = entry.kill('SIGTERM');
    await entry.waitFor('shutting down');
    // The stream still works both ways while the relay drains.
    socket.write(randomBytes(500_000));
    socket.end();
    client.end('second half');
    expect(await atClient).toMatchObject({ bytes: 500_000, ended: true });
    expect(await received).toMatchObject({ bytes: 'first half;second half'.length, ended: true });
    expect(await stopped).toBe(0);
    expect(entry.logs.find((l) => l.msg === 'stopped')).toMatchObject({ resetStreams: 0 });
    // New connections are refused once the relay stopped listening.
    expect((await collect(connect(entryAddr))).error).toBe('ECONNREFUSED');
    expect(await exit.kill('SIGTERM')).toBe(0);
    expect(entry.stderr + exit.stderr).not.toMatch(/"level":(50|60)/);
  });
});

/** The service's next connection, and what it will have received when it closes. */
function nextConnection(): Promise<{ socket: net.Socket; received: ReturnType<typeof collect> }> {
  return new Promise((ok) => {
    service.onConnection = (socket) => ok({ socket, received: collect(socket) });
  });
}
