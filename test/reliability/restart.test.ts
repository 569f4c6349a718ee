/**
 * kill -9 of either relay in the middle of a transfer, with real `bin/bering relay` processes:
 * the other side's TCP connection is reset (not left hanging), and once the killed relay is back,
 * new connections flow within 2 s. The entry relay learns of a restarted exit relay through its
 * restart check (src/io/peerDialer.ts and src/session/dialerEndpoint.ts), not the 8 s idle timeout.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { BeringProcess } from '../cli/run.ts';
import { connect, Service, until } from '../relay/harness.ts';
import { closed, exchange, RelayPair } from './processes.ts';

const pairs: RelayPair[] = [];
const services: Service[] = [];
afterAll(async () => {
  await Promise.all(pairs.map((p) => p.stop()));
  await Promise.all(services.map((s) => s.close()));
});

/** Echo connections until one comes back whole; resolves with the ms from `since`. */
async function firstEcho(pair: RelayPair, since: number, limitMs: number): Promise<number> {
  const payload = randomBytes(1000);
  for (;;) {
    const r = await exchange(pair.tcp, payload, 3000);
    if (r.ended && r.bytes === payload.length) return performance.now() - since;
    if (performance.now() - since > limitMs) throw new Error(`no echo within ${limitMs} ms (last: ${JSON.stringify(r)})`);
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

/** Resolves when `p` logs `msg`, with the time it did (by this process's clock). */
async function loggedAt(p: BeringProcess, msg: string, timeoutMs = 20_000): Promise<number> {
  await p.waitFor(msg, timeoutMs);
  return performance.now();
}

/** A service that echoes small requests and streams endlessly to a client that sends 'stream'. */
async function echoOrStream(): Promise<{ service: Service; streaming: net.Socket[] }> {
  const service = await Service.start();
  services.push(service);
  const streaming: net.Socket[] = [];
  const chunk = randomBytes(64 * 1024);
  service.onConnection = (s) => {
    s.once('data', (first: Buffer) => {
      if (first.toString() !== 'stream') {
        s.write(first);
        s.pipe(s);
        return;
      }
      streaming.push(s);
      const pump = (): void => {
        while (!s.destroyed && s.write(chunk));
        if (!s.destroyed) s.once('drain', pump);
      };
      pump();
    });
  };
  return { service, streaming };
}

describe('kill -9 mid-transfer', () => {
  it('of the exit relay: the client is reset, and after a restart new connections flow within 2 s', async () => {
    const { service } = await echoOrStream();
    const pair = await RelayPair.start({ forward: service.address, paths: 2 });
    pairs.push(pair);
    const client = connect(pair.tcp);
    const end = closed(client);
    let received = 0;
    client.on('data', (b: Buffer) => (received += b.length));
    client.write('stream');
    await until(() => received > 4 << 20, 20_000, 'the transfer to get going');

    const killedAt = performance.now();
    await pair.exit.kill('SIGKILL');
    const exit2 = pair.startExit();
    const upAt = await loggedAt(exit2, 'listening for peers');
    const reset = await end;
    const flowsAfterMs = await firstEcho(pair, upAt, 10_000);
    console.log(
      `exit killed: restarted in ${Math.round(upAt - killedAt)} ms; client reset ${Math.round(reset.at - killedAt)} ms after the kill; ` +
        `new connections flow ${Math.round(flowsAfterMs)} ms after the restart`,
    );
    expect(reset.error).toBe('ECONNRESET');
    expect(flowsAfterMs).toBeLessThan(2000);
    expect(pair.entry.count('peer restarted: session replaced')).toBe(1);
    // Replaced, not timed out: no idle timeout was waited for.
    expect(pair.entry.logs.filter((l) => l.msg === 'session down')).toHaveLength(0);
  });

  it('of the entry relay: the service side is reset, and after a restart new connections flow within 2 s', async () => {
    const { service, streaming } = await echoOrStream();
    // A 3 s idle timeout on the exit relay: it only shortens the wait for the service's reset.
    const pair = await RelayPair.start({ forward: service.address, exitArgs: ['--idle-timeout', '3'] });
    pairs.push(pair);
    const client = connect(pair.tcp);
    let received = 0;
    client.on('data', (b: Buffer) => (received += b.length));
    client.write('stream');
    await until(() => received > 4 << 20 && streaming.length === 1, 20_000, 'the transfer to get going');
    const atService = closed(streaming[0]);
    // The client's own connection dies with the process (the kernel closes it: FIN or RST).
    client.on('end', () => client.end());
    const atClient = closed(client);

    const killedAt = performance.now();
    await pair.entry.kill('SIGKILL');
    const entry2 = pair.startEntry();
    const upAt = await loggedAt(entry2, 'accepting connections');
    const flowsAfterMs = await firstEcho(pair, upAt, 10_000);
    // The service's connection is reset once the exit relay's session for the dead entry relay
    // times out (the exit relay cannot tell a dead peer from a dark path any sooner).
    expect((await atClient).at - killedAt).toBeLessThan(1000);
    const serviceReset = await atService;
    console.log(
      `entry killed: restarted in ${Math.round(upAt - killedAt)} ms; new connections flow ${Math.round(flowsAfterMs)} ms after the restart; ` +
        `service reset ${Math.round(serviceReset.at - killedAt)} ms after the kill`,
    );
    expect(flowsAfterMs).toBeLessThan(2000);
    expect(serviceReset.error).toBe('ECONNRESET');
    expect(serviceReset.at - killedAt).toBeLessThan(3000 + 2000);
  }, 60_000);
});
