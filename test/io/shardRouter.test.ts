/**
 * The main thread of `--workers N` on real UDP sockets, with its workers' ends of the channels in
 * this thread: a Data packet goes to the worker whose residue its session id has, a handshake
 * (and its copies from the dialer's other paths) to the worker with fewest sessions, junk nowhere;
 * what a worker sends leaves from the shared socket.
 */
import dgram from 'node:dgram';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelSockets } from '../../src/io/shardChannel.ts';
import { ShardRouter } from '../../src/io/shardRouter.ts';
import { DATA_OVERHEAD, HANDSHAKE_INIT_LEN, PacketType } from '../../src/wire/packet.ts';

const log = pino({ level: 'silent' });

function data(sessionId: number, tag: number): Buffer {
  const b = Buffer.alloc(DATA_OVERHEAD + 4);
  b[0] = PacketType.Data;
  b.writeUInt32BE(sessionId, 2);
  b[DATA_OVERHEAD] = tag;
  return b;
}

function init(initiator: number): Buffer {
  const b = Buffer.alloc(HANDSHAKE_INIT_LEN);
  b[0] = PacketType.HandshakeInit;
  b.writeUInt32BE(initiator, 1);
  return b;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function routerWithWorkers(shards: number) {
  const workers: ChannelSockets[] = [];
  const router = new ShardRouter({ listen: [{ host: '127.0.0.1', port: 0 }], shards, wake: (s) => setImmediate(() => workers[s].end.read()), log });
  await router.start();
  cleanups.push(() => router.close(0));
  const received: Array<Array<{ tag: number; type: number; from: string }>> = [];
  for (let s = 0; s < shards; s++) {
    const w = new ChannelSockets(router.memory[s], () => setImmediate(() => router.read(s)), router.addresses, router.batched);
    workers.push(w);
    received.push([]);
    const socket = await w.bind(router.addresses[0], 0);
    socket.receive((bytes, from) => received[s].push({ type: bytes[0], tag: bytes[DATA_OVERHEAD] ?? -1, from: `${from.address}:${from.port}` }));
    w.end.read();
  }
  return { router, workers, received };
}

async function client(): Promise<dgram.Socket> {
  const c = dgram.createSocket('udp4');
  await new Promise<void>((ok) => c.bind(0, '127.0.0.1', ok));
  cleanups.push(() => new Promise<void>((ok) => c.close(() => ok())));
  return c;
}

async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(predicate()).toBe(true);
}

describe('ShardRouter', () => {
  it('routes Data packets by the residue of their session id, in order, with their source', async () => {
    const { router, received } = await routerWithWorkers(3);
    const c = await client();
    const port = router.addresses[0].port;
    const ids = [7, 9, 11, 0xfffffffe];
    for (let tag = 0; tag < 40; tag++) c.send(data(ids[tag % ids.length], tag), port, '127.0.0.1');
    await until(() => received.reduce((n, r) => n + r.length, 0) === 40);
    const me = `127.0.0.1:${c.address().port}`;
    const want = (shard: number) => Array.from({ length: 40 }, (_, t) => t).filter((t) => ids[t % ids.length] % 3 === shard);
    for (let s = 0; s < 3; s++) {
      expect(received[s].map((r) => r.tag)).toEqual(want(s));
      for (const r of received[s]) expect(r.from).toBe(me);
    }
  });

  it('sends a handshake to the worker with fewest sessions, and its copies after it', async () => {
    const { router, received } = await routerWithWorkers(3);
    const [a, b] = [await client(), await client()];
    const port = router.addresses[0].port;
    router.setSessionCount(0, 4);
    router.setSessionCount(1, 1);
    router.setSessionCount(2, 2);
    a.send(init(0xabc), port, '127.0.0.1');
    await until(() => received[1].length === 1);
    // The copy from the dialer's other path follows the first, though worker 1 now has more.
    router.setSessionCount(1, 3);
    b.send(init(0xabc), port, '127.0.0.1');
    await until(() => received[1].length === 2);
    // A new handshake goes to worker 2 (2 sessions); it counts there until worker 2 tells its
    // count again, so the next goes to worker 1 (3 against 2 + 1, the lower index on a tie).
    a.send(init(0xdef), port, '127.0.0.1');
    await until(() => received[2].length === 1);
    a.send(init(0x123), port, '127.0.0.1');
    await until(() => received[1].length === 3);
    expect(received[0]).toHaveLength(0);
    expect(received[2]).toHaveLength(1);
    expect(received.flat().every((r) => r.type === PacketType.HandshakeInit)).toBe(true);
  });

  it('drops what is none of ours before any worker sees it, and counts it', async () => {
    const { router, received } = await routerWithWorkers(2);
    const c = await client();
    const port = router.addresses[0].port;
    for (const junk of [Buffer.from('GET / HTTP/1.1\r\n'), Buffer.alloc(DATA_OVERHEAD - 1, PacketType.Data), init(1).subarray(1)]) c.send(junk, port, '127.0.0.1');
    c.send(data(4, 99), port, '127.0.0.1');
    await until(() => received[0].length === 1);
    expect(router.unroutable).toBe(3);
    expect(received[1]).toHaveLength(0);
  });

  it('sends what a worker writes from the shared socket, to the address it names', async () => {
    const { router, workers } = await routerWithWorkers(2);
    const c = await client();
    const got: Array<{ bytes: number[]; port: number }> = [];
    c.on('message', (m, r) => got.push({ bytes: [...m], port: r.port }));
    const socket = await workers[1].bind(router.addresses[0], 0);
    for (let i = 0; i < 50; i++) socket.sendTo(Uint8Array.from([i, 1, 2, 3]), c.address().port, '127.0.0.1');
    await until(() => got.length === 50);
    expect(got.map((g) => g.bytes[0])).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(new Set(got.map((g) => g.port))).toEqual(new Set([router.addresses[0].port]));
  });
});
