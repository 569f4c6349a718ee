/**
 * Faults with real `bin/bering relay` processes on loopback: a forward target that refuses
 * connections, a client that stops reading, and a drain that runs out of time. (Relay restarts
 * are in restart.test.ts.)
 */
import { createHash, randomBytes } from 'node:crypto';
import type net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, connect, freePort, Service, until } from '../relay/harness.ts';
import { closed, memoryOf, RelayPair } from './processes.ts';

const pairs: RelayPair[] = [];
const services: Service[] = [];
afterAll(async () => {
  await Promise.all(pairs.map((p) => p.stop()));
  await Promise.all(services.map((s) => s.close()));
});

async function setUp(opts: { forward?: { host: string; port: number }; exitArgs?: string[]; entryArgs?: string[] } = {}) {
  const service = await Service.start();
  services.push(service);
  const pair = await RelayPair.start({ forward: opts.forward ?? service.address, exitArgs: opts.exitArgs, entryArgs: opts.entryArgs });
  pairs.push(pair);
  return { service, pair };
}

/**
 * A client that stops reading while the service sends 48 MiB (the tunnel's windows and the
 * sockets' buffers hold ~30 by default): resolves once the service has been held back, with how
 * far it got and the relays' memory then, after checking that the client, reading again, gets
 * every byte.
 */
async function stalledReader(args: string[]): Promise<{ held: number; rss: { entry: number; exit: number } }> {
  const { service, pair } = await setUp({ exitArgs: args, entryArgs: args });
  const block = randomBytes(1 << 20);
  const blocks = 48;
  const expected = createHash('sha256');
  for (let i = 0; i < blocks; i++) expected.update(block);
  let offered = 0;
  service.onConnection = (s: net.Socket) => {
    s.resume();
    const pump = (): void => {
      while (offered < blocks * block.length) {
        offered += block.length;
        if (!s.write(block)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    pump();
  };
  const client = connect(pair.tcp);
  client.pause();
  client.write('give me everything');
  // The service gets ahead by the tunnel's windows and the sockets' buffers, then must stop.
  let last = -1;
  let stillFor = 0;
  await until(() => {
    stillFor = offered === last ? stillFor + 1 : 0;
    last = offered;
    return offered > 0 && stillFor >= 100;
  }, 30_000, 'the service to be held back');
  const held = offered;
  const rss = { entry: memoryOf(pair.entry.child.pid!).rss, exit: memoryOf(pair.exit.child.pid!).rss };
  // Reading again drains it all, byte-exact.
  const got = collect(client);
  client.resume();
  client.end();
  expect(await got).toMatchObject({ bytes: blocks * block.length, sha256: expected.digest('hex'), ended: true, error: null });
  const mib = (b: number): string => (b / 1048576).toFixed(0);
  console.log(`stalled reader${args.length > 0 ? ` (${args.join(' ')})` : ''}: service held back after ${mib(held)} MiB of ${blocks}; RSS entry ${mib(rss.entry)} MiB, exit ${mib(rss.exit)} MiB`);
  return { held, rss };
}

describe.concurrent('faults with real relays', () => {
  it('closes the client promptly, with a reset, when the forward target refuses connections', async () => {
    const { pair } = await setUp({ forward: { host: '127.0.0.1', port: await freePort('tcp') } });
    for (let i = 0; i < 3; i++) {
      const client = connect(pair.tcp);
      const end = closed(client);
      client.write('GET / HTTP/1.1\r\n\r\n');
      const r = await end;
      expect(r.error).toBe('ECONNRESET');
      expect(r.afterMs).toBeLessThan(1000);
    }
    // The exit relay logs each refusal as it resets the stream; the line may reach us after the reset.
    const refusals = () => pair.exit.logs.filter((l) => l.msg === 'stream closed' && l.outcome === 'connect failed');
    await until(() => refusals().length >= 3, 2000, 'the exit relay to log three refusals').catch(() => {});
    expect(refusals()).toHaveLength(3);
  });

  it('holds a client that stops reading with flow control: the service is paused, relay memory bounded, nothing lost', async () => {
    const r = await stalledReader([]);
    expect(r.held).toBeLessThan(48 << 20);
    expect(r.rss.entry).toBeLessThan(200 * 1048576);
    expect(r.rss.exit).toBeLessThan(200 * 1048576);
  });

  it('holds it back sooner with a smaller --max-buffer-mb', async () => {
    const r = await stalledReader(['--max-buffer-mb', '8']);
    // 8 MiB of tunnel buffers; the rest is the four TCP sockets' kernel buffers.
    expect(r.held).toBeLessThan(32 << 20);
    expect(r.rss.entry).toBeLessThan(160 * 1048576);
    expect(r.rss.exit).toBeLessThan(160 * 1048576);
  });

  it('on SIGTERM lets streams finish up to the drain timeout, resets the rest, and exits 0', async () => {
    const { service, pair } = await setUp({ entryArgs: ['--drain-timeout', '1'] });
    service.onConnection = (s) => s.resume();
    const stuck = connect(pair.tcp);
    const stuckEnd = closed(stuck);
    stuck.write('never finishing');
    await until(() => service.connections.length === 1, 10_000, 'the stream to reach the service');
    const started = performance.now();
    const code = await pair.entry.kill('SIGTERM');
    const tookMs = performance.now() - started;
    expect(code).toBe(0);
    expect(tookMs).toBeGreaterThan(900);
    expect(tookMs).toBeLessThan(5000);
    expect((await stuckEnd).error).toBe('ECONNRESET');
    expect(pair.entry.logs.find((l) => l.msg === 'stopped')).toMatchObject({ resetStreams: 1 });
  });
});
