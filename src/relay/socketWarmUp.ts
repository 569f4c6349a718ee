/**
 * Runs bytes through a relay pair of this process, on loopback sockets, before the real relay
 * opens its ports: the same code a viewer's stream takes (TCP bridges, the session loop, UDP
 * sockets), not only the session core the in-memory warm-up (warmUp.ts) reaches.
 *
 * Why: after the in-memory warm-up, a fresh exit relay still ran its first 400 ms of a 60 Mbit/s
 * stream at 35-99% of a core against 25-45% later (profiled: dgram's send path, TCP reads, the
 * bridge), and in real-process soaks the host had 1-9% idle in a stream's first second.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pino from 'pino';
import type { ReedSolomon } from '../fec/index.ts';
import type { HostPort } from '../io/address.ts';
import { sessionCore, startRelay, type Relay } from './startRelay.ts';

const LOOPBACK = '127.0.0.1';

/**
 * Moves `bytes` each way through an entry and an exit relay of this process, keyed with a
 * throwaway key, and stops them; gives up after `budgetMs` of real time. Resolves with the stream
 * bytes that came through.
 */
export async function warmUpThroughSockets(fec: ReedSolomon, bytes: number, budgetMs: number): Promise<number> {
  const log = pino({ level: 'silent' });
  const core = sessionCore(randomBytes(32), undefined, {}, fec);
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let delivered = 0;
  let finished = (): void => {};
  const count = (b: Buffer): void => {
    delivered += b.length;
    if (delivered >= 2 * bytes) finished();
  };
  const sockets = new Set<net.Socket>();
  const service = net.createServer((s) => {
    sockets.add(s);
    s.on('data', count);
    s.on('error', () => {});
    void writeAll(s, chunk, bytes);
  });
  const relays: Relay[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const serviceAddress = await listen(service);
    const exit = await startRelay({ tcp: { forward: serviceAddress }, udp: { listen: [{ host: LOOPBACK, port: 0 }] }, core, log });
    relays.push(exit);
    const entry = await startRelay({ tcp: { listen: { host: LOOPBACK, port: 0 } }, udp: { peers: exit.udpAddresses }, core, log });
    relays.push(entry);
    const client = net.connect(entry.tcpAddress!.port, LOOPBACK);
    sockets.add(client);
    client.on('error', () => {});
    const done = new Promise<void>((ok) => {
      finished = ok;
      client.on('data', count);
      client.on('close', () => ok());
      timer = setTimeout(ok, budgetMs);
    });
    void writeAll(client, chunk, bytes);
    await done;
  } finally {
    clearTimeout(timer);
    for (const s of sockets) s.destroy();
    await Promise.all(relays.map((r) => r.stop(0)));
    await new Promise<void>((ok) => service.close(() => ok()));
  }
  return delivered;
}

function listen(server: net.Server): Promise<HostPort> {
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, LOOPBACK, () => ok({ host: LOOPBACK, port: (server.address() as net.AddressInfo).port }));
  });
}

/** Writes `chunk` until `bytes` went out, waiting for the socket to drain as a real source does. */
async function writeAll(socket: net.Socket, chunk: Buffer, bytes: number): Promise<void> {
  for (let sent = 0; sent < bytes && !socket.destroyed; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((ok) => socket.once('drain', ok));
  }
}
