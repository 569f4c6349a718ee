import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchSender, loadUdpBatch, socketFd, type UdpBatchNative } from '../../src/io/udpBatch.ts';
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
    const batch = new BatchSender(native as UdpBatchNative, socketFd(sender) as number, 4, () => {
      throw new Error('nothing should overflow on loopback');
    });
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
    plan.forEach((p, i) => {
      expect(batch.queue(datagram(i, p.length), p.to.address().port, '127.0.0.1')).toBe(true);
    });
    const expected = (to: dgram.Socket): Buffer[] => plan.flatMap((p, i) => (p.to === to ? [datagram(i, p.length)] : []));
    expect((await gotA).map((g) => g.bytes)).toEqual(expected(a));
    expect((await gotB).map((g) => g.bytes)).toEqual(expected(b));
    expect(batch.failed).toBe(0);
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
    const connected = new BatchSender(native as UdpBatchNative, socketFd(client) as number, 6, () => {});
    const got6 = receive(v6, 3);
    for (let i = 0; i < 3; i++) connected.queue(datagram(i, 1320));
    expect((await got6).map((g) => g.bytes)).toEqual([0, 1, 2].map((i) => datagram(i, 1320)));

    const dual = await bound('udp6', '::');
    const v4 = await bound('udp4', '127.0.0.1');
    const fromDual = new BatchSender(native as UdpBatchNative, socketFd(dual) as number, 6, () => {});
    const got4 = receive(v4, 2);
    fromDual.queue(datagram(7, 100), v4.address().port, '127.0.0.1');
    fromDual.queue(datagram(8, 100), v4.address().port, '::ffff:127.0.0.1');
    expect((await got4).map((g) => g.bytes)).toEqual([datagram(7, 100), datagram(8, 100)]);
  });

  it.runIf(native !== null)('refuses an address it cannot parse, and counts sends to a peer that is gone', async () => {
    const sender = await bound('udp4', '127.0.0.1');
    const batch = new BatchSender(native as UdpBatchNative, socketFd(sender) as number, 4, () => {});
    expect(batch.queue(datagram(0, 10), 9, 'not-an-address')).toBe(false);
    expect(batch.queue(datagram(0, 10), 9, '::1')).toBe(false);
    // A connected socket whose peer is gone: the port-unreachable comes back and fails a later
    // send or receive, whichever the kernel reports it to; either way it is a send error.
    const gone = await bound('udp4', '127.0.0.1');
    const port = gone.address().port;
    gone.close();
    sockets.splice(sockets.indexOf(gone), 1);
    const toGone = await UdpSocket.connect({ address: '127.0.0.1', family: 4, port });
    for (let round = 0; round < 20 && toGone.sendErrors === 0; round++) {
      toGone.sendConnected(datagram(round, 100));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(toGone.sendErrors).toBeGreaterThan(0);
    await toGone.close();
  });

  it('hands what the kernel would not take to the overflow sender, and stops GSO once it is refused', () => {
    const calls: Array<{ count: number; gso: boolean }> = [];
    let refuseGso = true;
    // A stand-in for the module: refuses GSO once, then takes two datagrams of what remains.
    const fake: UdpBatchNative = {
      encodeAddress: (_a, port, _f, out) => {
        out[0] = 4;
        out[2] = port >> 8;
        out[3] = port & 0xff;
        return true;
      },
      sendBatch: (_fd, _arena, _spans, count, _slots, gso, result) => {
        calls.push({ count, gso });
        result.fill(0);
        if (gso && refuseGso) {
          refuseGso = false;
          result[0] = 1;
          result[3] = 1;
          return;
        }
        result[0] = Math.min(2, count);
      },
    };
    const overflow: Array<{ bytes: Uint8Array; port?: number; address?: string }> = [];
    const batch = new BatchSender(fake, 3, 4, (bytes, port, address) => overflow.push({ bytes, port, address }));
    for (let i = 0; i < 5; i++) batch.queue(datagram(i, 50), 4000 + (i % 2), '10.0.0.1');
    batch.flush();
    expect(calls).toEqual([
      { count: 5, gso: true },
      { count: 4, gso: false },
    ]);
    // Datagrams 0 (before the refusal) and 1-2 were taken; 3 and 4 went to dgram, intact and addressed.
    expect(overflow.map((o) => [Buffer.from(o.bytes), o.port, o.address])).toEqual([
      [datagram(3, 50), 4001, '10.0.0.1'],
      [datagram(4, 50), 4000, '10.0.0.1'],
    ]);
    expect(batch.overflowed).toBe(2);
    expect(batch.pending).toBe(0);
  });

  it.runIf(native !== null)('UdpSocket sends through the batch and counts its failures as send errors', async () => {
    const sink = await bound('udp4', '127.0.0.1');
    const socket = await UdpSocket.connect({ address: '127.0.0.1', family: 4, port: sink.address().port });
    expect(socket.batched).toBe(true);
    const got = receive(sink, 40);
    for (let i = 0; i < 40; i++) socket.sendConnected(datagram(i, 1320));
    expect((await got).map((g) => g.bytes)).toEqual(Array.from({ length: 40 }, (_, i) => datagram(i, 1320)));
    await socket.close();
    expect(socket.sendErrors).toBe(0);
  });

  it.runIf(platformHasBuild)('native/build.sh builds a module that sends the same bytes', async () => {
    let built: string;
    try {
      const out = join(mkdtempSync(join(tmpdir(), 'bering-native-')), 'udpbatch.node');
      execFileSync(fileURLToPath(new URL('../../native/build.sh', import.meta.url)), [out], { stdio: 'pipe' });
      built = out;
    } catch {
      return; // no C compiler here: the committed build is what runs
    }
    const rebuilt = createRequire(import.meta.url)(built) as UdpBatchNative;
    const sender = await bound('udp4', '127.0.0.1');
    const sink = await bound('udp4', '127.0.0.1');
    const batch = new BatchSender(rebuilt, socketFd(sender) as number, 4, () => {});
    const got = receive(sink, 20);
    for (let i = 0; i < 20; i++) batch.queue(datagram(i, i === 19 ? 7 : 1320), sink.address().port, '127.0.0.1');
    expect((await got).map((g) => g.bytes)).toEqual(Array.from({ length: 20 }, (_, i) => datagram(i, i === 19 ? 7 : 1320)));
  });
});
