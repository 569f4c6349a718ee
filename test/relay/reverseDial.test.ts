/**
 * Either relay may dial: an exit relay behind NAT (a home Plex box) dials out with --peer to an
 * entry relay on a public VPS that listens with --udp-listen. Two `bin/bering` processes, the
 * exit relay's path crossing an impairment proxy that, like a NAT, hides its real source port.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HostPort } from '../../src/io/address.ts';
import { ImpairmentProxy } from '../../src/lab/impairmentProxy.ts';
import { BeringProcess, run, tempDir, writeTemp } from '../cli/run.ts';
import { exchange, freePort, Service, sha256 } from './harness.ts';

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
  entryAddr = { host: '127.0.0.1', port: await freePort('tcp') };
  entry = BeringProcess.start(['relay', '--tcp-listen', `127.0.0.1:${entryAddr.port}`, '--udp-listen', `127.0.0.1:${udpPort}`, '--key-file', keyFile]);
  await entry.waitFor('listening for peers');
  proxy = await ImpairmentProxy.start({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: udpPort }, aToB: LINK, bToA: LINK, seed: 9 });
  exit = BeringProcess.start(['relay', '--peer', `127.0.0.1:${proxy.address.port}`, '--forward', `127.0.0.1:${service.address.port}`, '--key-file', keyFile]);
  await exit.waitFor('session up');
});

afterAll(async () => {
  await Promise.all([entry?.kill('SIGKILL'), exit?.kill('SIGKILL')]);
  proxy?.close();
  await service?.close();
});

it('an exit relay that dials out carries viewers of a listening entry relay, intact both ways', async () => {
  const up = randomBytes(4 << 20);
  const down = randomBytes(4 << 20);
  const { atService: s, atClient: c } = await exchange(entryAddr, service, up, down);
  expect(s).toMatchObject({ bytes: up.length, sha256: sha256(up), ended: true, error: null });
  expect(c).toMatchObject({ bytes: down.length, sha256: sha256(down), ended: true, error: null });
});
