/**
 * A restarted exit relay: the entry relay's session falls silent, its restart check handshakes
 * with the new exit relay and takes over, and new connections work again, with no operator
 * action. Two real `bin/bering` processes on loopback.
 */
import { afterAll, expect, it } from 'vitest';
import { BeringProcess, run, tempDir, writeTemp } from '../cli/run.ts';
import { collect, connect, freePort, Service } from './harness.ts';

const procs: BeringProcess[] = [];
let service: Service | undefined;
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  await service?.close();
});

it('re-handshakes by itself after the exit relay restarts', async () => {
  const keyFile = writeTemp(tempDir(), 'bering.key', (await run(['keygen'])).stdout);
  service = await Service.start();
  const udp = `127.0.0.1:${await freePort('udp')}`;
  const tcp = { host: '127.0.0.1', port: await freePort('tcp') };
  const startExit = (): BeringProcess => {
    const p = BeringProcess.start(['relay', '--udp-listen', udp, '--forward', `127.0.0.1:${service!.address.port}`, '--key-file', keyFile]);
    procs.push(p);
    return p;
  };
  const echo = async (text: string) => {
    const c = connect(tcp);
    const r = collect(c);
    c.end(text);
    return r;
  };

  const exit1 = startExit();
  await exit1.waitFor('listening for peers');
  const entry = BeringProcess.start(['relay', '--tcp-listen', `127.0.0.1:${tcp.port}`, '--peer', udp, '--key-file', keyFile]);
  procs.push(entry);
  await entry.waitFor('session up');
  expect(await echo('before')).toMatchObject({ bytes: 6, ended: true });

  await exit1.kill('SIGKILL');
  const exit2 = startExit();
  await exit2.waitFor('listening for peers');
  // The entry relay's restart check finds the new exit relay and replaces the old session.
  await exit2.waitFor('session up', 30_000);
  // The entry relay takes over once the old session stayed silent a little longer: wait for it.
  await entry.waitFor('peer restarted: session replaced', 10_000);
  expect(entry.count('peer restarted: session replaced')).toBe(1);
  expect(await echo('after')).toMatchObject({ bytes: 5, ended: true });
}, 60_000);
