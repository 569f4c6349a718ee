import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { buildNativeModule } from '../support/nativeBuild.ts';
import { BatchReceiver, BatchSender, loadUdpBatch, socketFd, type DatagramSource, type UdpBatchNative } from '../../src/io/udpBatch.ts';
import { UdpSocket } from '../../src/io/udpSocket.ts';

const native = loadUdpBatch();
const sockets: dgram.Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

async function bound(type: 'udp4' | 'udp6', host: string): Promise<dgram.Socket> {
  const s = dgram.createSocket(type);
  sockets.push(s);
  await new Promise<void>((ok) => s.bind(0, host, ok));
  return s;
}

/** Collects what `socket` receives until `count` datagrams arrived. */
function receive(socket: dgram.Socket, count: number): Promise<Array<{ bytes: Buffer; port: number }>> {
  const got: Array<{ bytes: Buffer; port: number }> = [];
  return new Promise((ok) => {
    socket.on('message', (bytes, from) => {
      got.push({ bytes, port: from.port });
      if (got.length === count) ok(got);
    });
  });
}

/** Datagram `i` of a test: its own length pattern and content, so a mix-up shows. */
function datagram(i: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  b.writeUInt32BE(i, 0);
  for (let j = 4; j < length; j++) b[j] = (i * 31 + j) & 0xff;
  return b;
}

const platformHasBuild = process.platform === 'linux' && process.arch === 'x64';

describe('batched UDP sends', () => {
  it('loads the committed native sender on linux-x64', () => {
    if (!platformHasBuild) return;
    expect(native).not.toBeNull();
  });

  it.runIf(native !== null)('delivers every datagram intact and in order to several addresses, in GSO runs and single sends', async () => {
    const sender = await bound('udp4', '127.0.0.1');
    const a = await bound('udp4', '127.0.0.1');
    const b = await bound('udp4', '127.0.0.1');
    // The whole plan lands at once: room for it, or loopback drops the excess.
    a.setRecvBufferSize(4 << 20);
    b.setRecvBufferSize(4 << 20);
    const batch = new BatchSender(native as UdpBatchNative, socketFd(sender) as number, 4);
    // Runs of full-size datagrams (GSO), a shorter one closing a run, small ones, and two
    // destinations interleaved: more than one batch's worth in all.
    const plan: Array<{ to: dgram.Socket; length: number }> = [];
    for (let i = 0; i < 600; i++) {
      const to = i % 50 < 35 ? a : b;
      const length = i % 17 === 16 ? 200 : i % 41 === 0 ? 60 : 1320;
      plan.push({ to, length });
    }
    const forA = plan.filter((p) => p.to === a).length;
    const gotA = receive(a, forA);
    const gotB = receive(b, plan.length - forA);
    const refused = plan.filter((p, i) => !batch.queue(datagram(i, p.length), p.to.address().port, '127.0.0.1'));
    expect(refused).toEqual([]);
    const expected = (to: dgram.Socket): Buffer[] => plan.flatMap((p, i) => (p.to === to ? [datagram(i, p.length)] : []));
    // Same datagram boundaries and the same bytes (compared whole: toEqual over 600 buffers is slow).
    const same = (got: Buffer[], want: Buffer[]): void => {
      expect(got.map((g) => g.length)).toEqual(want.map((w) => w.length));
      expect(Buffer.concat(got).equals(Buffer.concat(want))).toBe(true);
    };
    same((await gotA).map((g) => g.bytes), expected(a));
    same((await gotB).map((g) => g.bytes), expected(b));
    expect(batch.failed + batch.dropped).toBe(0);
    expect(batch.pending).toBe(0);
  });

  it.runIf(native !== null)('sends on a connected IPv6 socket and to IPv4 peers from a dual-stack one', async () => {
    let v6: dgram.Socket;
    try {
      v6 = await bound('udp6', '::1');
    } catch {
      return; // no IPv6 loopback in this sandbox
    }
    const client = dgram.createSocket('udp6');
    sockets.push(client);
    await new Promise<void>((ok) => client.connect(v6.address().port, '::1', ok));
    const connected = new BatchSender(native as UdpBatchNative, socketFd(client) as number, 6);
    const got6 = receive(v6, 3);
    for (let i = 0; i < 3; i++) connected.queue(datagram(i, 1320));
    expect((await got6).map((g) => g.bytes)).toEqual([0, 1, 2].map((i) => datagram(i, 1320)));

    const dual = await bound('udp6', '::');
    const v4 = await bound('udp4', '127.0.0.1');
    const fromDual = new BatchSender(native as UdpBatchNative, socketFd(dual) as number, 6);
    const got4 = receive(v4, 2);
    fromDual.queue(datagram(7, 100), v4.address().port, '127.0.0.1');
    fromDual.queue(datagram(8, 100), v4.address().port, '::ffff:127.0.0.1');
    expect((await got4).map((g) => g.bytes)).toEqual([datagram(7, 100), datagram(8, 100)]);
  });

  it.runIf(native !== null)('refuses an address it cannot parse, and counts sends to a peer that is gone', async () => {
    const sender = await bound('udp4', '127.0.0.1');
    const batch = new BatchSender(native as UdpBatchNative, socketFd(sender) as number, 4);
    expect(batch.queue(datagram(0, 10), 9, 'not-an-address')).toBe(false);
    expect(batch.queue(datagram(0, 10), 9, '::1')).toBe(false);
    // A connected socket whose peer is gone: the port-unreachable comes back and fails a later
    // send or receive, whichever the kernel reports it to; either way it is a send error.
    const gone = await bound('udp4', '127.0.0.1');
    const port = gone.address().port;
    gone.close();
    sockets.splice(sockets.indexOf(gone), 1);
    const toGone = await UdpSocket.connect({ address: '127.0.0.1', family: 4, port });
    const codes: string[] = [];
    let received: (bytes: Uint8Array) => void = () => {};
    toGone.receive((bytes) => received(bytes), (code) => codes.push(code));
    for (let round = 0; round < 20 && toGone.sendErrors === 0; round++) {
      toGone.sendConnected(datagram(round, 100));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(toGone.sendErrors).toBeGreaterThan(0);
    // The dialer takes a path down on this code.
    expect(codes).toContain('ECONNREFUSED');
    // ...and the socket still reads once the peer is back (libuv stops a poll on the error).
    const back = dgram.createSocket('udp4');
    sockets.push(back);
    await new Promise<void>((ok) => back.bind(port, '127.0.0.1', ok));
    const heard = new Promise<Uint8Array>((ok) => {
      received = ok;
    });
    back.send(datagram(5, 20), toGone.local.port, '127.0.0.1');
    expect(Buffer.from(await heard)).toEqual(datagram(5, 20));
    await toGone.close();
  });

  it('drops and counts what the kernel would not take, and stops GSO once it is refused', () => {
    const calls: Array<{ count: number; gso: boolean; first: number }> = [];
    let refuseGso = true;
    // A stand-in for the module: refuses GSO once, then takes two datagrams of what remains.
    const fake: UdpBatchNative = {
      encodeAddress: (_a, port, _f, out) => {
        out[0] = 4;
        out[2] = port >> 8;
        out[3] = port & 0xff;
        return true;
      },
      sendBatch: (_fd, arena, spans, count, _slots, gso, result) => {
        calls.push({ count, gso, first: new DataView(arena.buffer, arena.byteOffset).getUint32(spans[0]) });
        result.fill(0);
        if (gso && refuseGso) {
          refuseGso = false;
          result[0] = 1;
          result[3] = 1;
          return;
        }
        result[0] = Math.min(2, count);
      },
      startReceiving: () => {
        throw new Error('not used');
      },
      stopReceiving: () => {},
      formatAddress: () => '',
    };
    const batch = new BatchSender(fake, 3, 4);
    for (let i = 0; i < 5; i++) batch.queue(datagram(i, 50), 4000 + (i % 2), '10.0.0.1');
    batch.flush();
    // Datagram 0 went before the refusal; the retry without GSO starts at datagram 1 and the
    // kernel takes 1 and 2; 3 and 4 are dropped.
    expect(calls).toEqual([
      { count: 5, gso: true, first: 0 },
      { count: 4, gso: false, first: 1 },
    ]);
    expect(batch.dropped).toBe(2);
    expect(batch.pending).toBe(0);
  });

  it.runIf(native !== null)('receives in batches: every datagram intact while lent, sources kept as one object each, oversized ones counted', async () => {
    const server = await bound('udp4', '127.0.0.1');
    server.setRecvBufferSize(4 << 20);
    const clients = [await bound('udp4', '127.0.0.1'), await bound('udp4', '127.0.0.1')];
    const got: Array<{ bytes: Uint8Array; from: DatagramSource }> = [];
    const total = 300;
    let done: () => void = () => {};
    const all = new Promise<void>((ok) => {
      done = ok;
    });
    const lent = new Set<ArrayBufferLike>();
    const receiver = new BatchReceiver(native as UdpBatchNative, server, (bytes, from) => {
      lent.add(bytes.buffer);
      // Lent for the call: the next batch is read into the same memory.
      got.push({ bytes: Uint8Array.from(bytes), from });
      if (got.length === total) done();
    }, () => {});
    const port = server.address().port;
    const oversized = Buffer.alloc(3000, 1);
    for (let i = 0; i < total; i++) {
      clients[i % 2].send(datagram(i, 40 + (i % 1300)), port, '127.0.0.1');
      if (i === 100) clients[0].send(oversized, port, '127.0.0.1');
    }
    await all;
    // One socket's datagrams arrive in the order it sent them.
    for (const c of [0, 1]) {
      const mine = got.filter((g) => g.from.port === clients[c].address().port);
      expect(mine.map((g) => Buffer.from(g.bytes))).toEqual(
        Array.from({ length: total }, (_, i) => i).filter((i) => i % 2 === c).map((i) => datagram(i, 40 + (i % 1300))),
      );
      expect(new Set(mine.map((g) => g.from)).size).toBe(1);
      expect(mine[0].from.address).toBe('127.0.0.1');
    }
    // Every datagram was lent from the one arena: no buffer per datagram.
    expect(lent.size).toBe(1);
    expect(receiver.truncated).toBe(1);
    receiver.stop();
    receiver.stop();
  });

  it.runIf(native !== null)('cuts what the kernel merged (GSO sends read with GRO) back into its datagrams, in order, across batches', async () => {
    // On Linux loopback a GSO send reaches a socket with UDP_GRO as one message of up to eight
    // datagrams and their size: the reader must hand out each, and more than its arena holds.
    const receiving = await bound('udp4', '127.0.0.1');
    receiving.setRecvBufferSize(8 << 20);
    const sending = await bound('udp4', '127.0.0.1');
    const total = 300;
    const got: Buffer[] = [];
    let done: () => void = () => {};
    const all = new Promise<void>((ok) => {
      done = ok;
    });
    const receiver = new BatchReceiver(native as UdpBatchNative, receiving, (bytes, from) => {
      expect(from.port).toBe(sending.address().port);
      got.push(Buffer.from(bytes));
      if (got.length === total) done();
    }, () => {});
    const batch = new BatchSender(native as UdpBatchNative, socketFd(sending) as number, 4);
    // Runs of equal sizes (merged) broken by odd ones (a run's end).
    const sizes = Array.from({ length: total }, (_, i) => (i % 37 === 36 ? 17 : 1350));
    for (let i = 0; i < total; i++) {
      batch.queue(datagram(i, sizes[i]), receiving.address().port, '127.0.0.1');
      if (i % 40 === 39) batch.flush();
    }
    batch.flush();
    const late = new Promise<void>((_, fail) => setTimeout(() => fail(new Error(`${got.length} of ${total} datagrams after 5 s`)), 5000).unref());
    await Promise.race([all, late]);
    expect(got).toEqual(sizes.map((size, i) => datagram(i, size)));
    expect(receiver.truncated).toBe(0);
    receiver.stop();
  });

  it.runIf(native !== null)('UdpSocket sends and receives through the batch, and closes cleanly while reading', async () => {
    const peer = await bound('udp4', '127.0.0.1');
    const socket = await UdpSocket.connect({ address: '127.0.0.1', family: 4, port: peer.address().port });
    expect(socket.batched).toBe(true);
    const echoed: Buffer[] = [];
    const back = new Promise<void>((ok) => {
      socket.receive((bytes) => {
        echoed.push(Buffer.from(bytes));
        if (echoed.length === 40) ok();
      });
    });
    peer.on('message', (msg, from) => peer.send(msg, from.port, from.address));
    const got = receive(peer, 40);
    for (let i = 0; i < 40; i++) socket.sendConnected(datagram(i, 1320));
    expect((await got).map((g) => g.bytes)).toEqual(Array.from({ length: 40 }, (_, i) => datagram(i, 1320)));
    await back;
    expect(echoed).toEqual(Array.from({ length: 40 }, (_, i) => datagram(i, 1320)));
    await socket.close();
    expect(socket.sendErrors).toBe(0);
    // A fresh socket reuses the descriptor number: it must read normally.
    const again = await UdpSocket.connect({ address: '127.0.0.1', family: 4, port: peer.address().port });
    const one = new Promise<Uint8Array>((ok) => again.receive((bytes) => ok(Uint8Array.from(bytes))));
    again.sendConnected(datagram(99, 10));
    expect(Buffer.from(await one)).toEqual(datagram(99, 10));
    await again.close();
  });

  it.runIf(platformHasBuild)('native/build.sh builds a module that sends the same bytes', async () => {
    const rebuilt = buildNativeModule<UdpBatchNative>('udpbatch');
    if (rebuilt === null) return;
    const sender = await bound('udp4', '127.0.0.1');
    const sink = await bound('udp4', '127.0.0.1');
    const batch = new BatchSender(rebuilt, socketFd(sender) as number, 4);
    const got = receive(sink, 20);
    for (let i = 0; i < 20; i++) batch.queue(datagram(i, i === 19 ? 7 : 1320), sink.address().port, '127.0.0.1');
    expect((await got).map((g) => g.bytes)).toEqual(Array.from({ length: 20 }, (_, i) => datagram(i, i === 19 ? 7 : 1320)));
  });
});
