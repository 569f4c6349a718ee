/**
 * Several services on one relay pair, configured by YAML files: two real `bin/bering relay`
 * processes, the entry listening once per service, the exit relay connecting each stream to the
 * target its service name picks (the unnamed one to `forward`), and resetting, with a log line, a
 * stream that asks for a service it does not know.
 */
import net from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { BeringProcess, run, tempDir, writeTemp } from './run.ts';
import { collect, connect, freePort, Service } from '../relay/harness.ts';

const procs: BeringProcess[] = [];
const services: Service[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  await Promise.all(services.map((s) => s.close()));
});

/** A service that greets with its name and closes. */
async function greeter(name: string): Promise<Service> {
  const s = await Service.start();
  s.onConnection = (socket: net.Socket) => {
    socket.resume();
    socket.end(name);
  };
  services.push(s);
  return s;
}

it('routes each service by name and resets streams for unknown ones', async () => {
  const dir = tempDir();
  writeTemp(dir, 'bering.key', (await run(['keygen'])).stdout);
  const [plex, ssh, fallback] = await Promise.all([greeter('plex'), greeter('ssh'), greeter('unnamed')]);
  const udp = await freePort('udp');
  const ports = { unnamed: await freePort('tcp'), plex: await freePort('tcp'), ssh: await freePort('tcp'), ghost: await freePort('tcp') };
  const exitConfig = writeTemp(
    dir,
    'exit.yaml',
    [
      `udpListen: 127.0.0.1:${udp}`,
      'keyFile: bering.key',
      `forward: 127.0.0.1:${fallback.address.port}`,
      'services:',
      `  - { name: plex, forward: "127.0.0.1:${plex.address.port}" }`,
      `  - { name: ssh, forward: "127.0.0.1:${ssh.address.port}" }`,
    ].join('\n'),
  );
  const entryConfig = writeTemp(
    dir,
    'entry.yaml',
    [
      `tcpListen: 127.0.0.1:${ports.unnamed}`,
      `peer: 127.0.0.1:${udp}`,
      'keyFile: bering.key',
      'services:',
      ...(['plex', 'ssh', 'ghost'] as const).map((name) => `  - { name: ${name}, listen: "127.0.0.1:${ports[name]}" }`),
    ].join('\n'),
  );
  const exit = BeringProcess.start(['relay', '--config', exitConfig]);
  procs.push(exit);
  await exit.waitFor('listening for peers');
  const entry = BeringProcess.start(['relay', '--config', entryConfig]);
  procs.push(entry);
  await entry.waitFor('session up');

  const ask = (port: number) => {
    const c = connect({ host: '127.0.0.1', port });
    let text = '';
    c.on('data', (b: Buffer) => (text += b.toString()));
    c.end();
    return collect(c).then((r) => ({ ...r, text }));
  };
  const [toPlex, toSsh, toUnnamed, toGhost] = await Promise.all([ask(ports.plex), ask(ports.ssh), ask(ports.unnamed), ask(ports.ghost)]);
  expect(toPlex).toMatchObject({ text: 'plex', ended: true, error: null });
  expect(toSsh).toMatchObject({ text: 'ssh', ended: true, error: null });
  expect(toUnnamed).toMatchObject({ text: 'unnamed', ended: true, error: null });
  expect(toGhost).toMatchObject({ bytes: 0, ended: false, error: 'ECONNRESET' });
  expect(await exit.waitFor('stream for an unknown service; reset')).toMatchObject({ service: 'ghost' });
  expect(exit.logs.filter((l) => l.msg === 'stream open').map((l) => l.service ?? '').sort()).toEqual(['', 'plex', 'ssh']);
});
