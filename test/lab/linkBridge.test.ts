/**
 * The kernel-TCP side of the emulation: the TUN bridge's forwarder, driven over real loopback UDP
 * as socat drives it. It must apply the seeded link model exactly (the same packets lost as the
 * model loses) and its loss rate, burst lengths, delay and rate cap must measure as configured.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Link, linkRng, type LinkConfig } from '../../src/sim/link.ts';
import { LinkBridge } from '../../src/lab/linkBridge.ts';

interface Peer {
  socket: dgram.Socket;
  port: number;
  /** Per received datagram: its sequence number and arrival time (performance.now). */
  got: Array<{ seq: number; at: number; sentAt: number }>;
}

const open: Array<{ close(): unknown }> = [];

async function peer(): Promise<Peer> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const p: Peer = { socket, port: socket.address().port, got: [] };
  socket.on('message', (msg: Buffer) => p.got.push({ seq: msg.readUInt32BE(0), sentAt: msg.readDoubleBE(4), at: performance.now() }));
  open.push({ close: () => socket.close() });
  return p;
}

async function bridgeBetween(aToB: LinkConfig, bToA: LinkConfig, seed: number): Promise<{ bridge: LinkBridge; a: Peer; b: Peer }> {
  const [a, b] = [await peer(), await peer()];
  const bridge = await LinkBridge.start({ aPeer: { host: '127.0.0.1', port: a.port }, bPeer: { host: '127.0.0.1', port: b.port }, aToB, bToA, seed });
  open.push(bridge);
  return { bridge, a, b };
}

/**
 * Sends `count` datagrams of `size` bytes from `from` to the bridge port, `batch` per event-loop
 * turn: libuv reads at most 32 datagrams per socket per turn, so larger batches overflow the
 * bridge's socket buffer and the host, not the model, would drop them.
 */
async function send(from: Peer, port: number, count: number, size: number, batch = 16): Promise<void> {
  for (let seq = 0; seq < count; seq++) {
    const msg = Buffer.alloc(size);
    msg.writeUInt32BE(seq, 0);
    msg.writeDoubleBE(performance.now(), 4);
    from.socket.send(msg, port, '127.0.0.1');
    if (seq % batch === batch - 1) await new Promise((r) => setImmediate(r));
  }
}

async function settle(p: Peer, expected: number, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = -1;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    if (p.got.length >= expected || (p.got.length === last && p.got.length > 0)) return;
    last = p.got.length;
  }
}

afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

describe('LinkBridge', () => {
  it('drops exactly the packets its seeded model drops, each way with its own stream', async () => {
    const link: LinkConfig = { delayMs: 1, lossRate: 0.05, burstLoss: { meanLossRate: 0.02, meanBurstLength: 3 } };
    const { bridge, a, b } = await bridgeBetween(link, link, 42);
    await send(a, bridge.portA, 5000, 100);
    await send(b, bridge.portB, 5000, 100);
    await settle(b, 5000);
    await settle(a, 5000);
    for (const [index, got] of [[0, b.got], [1, a.got]] as const) {
      const model = new Link(link, linkRng(42, index));
      const expected = Array.from({ length: 5000 }, (_, seq) => seq).filter((seq) => model.send(seq, 100) >= 0);
      expect(got.map((g) => g.seq)).toEqual(expected);
    }
    expect(bridge.stats().aToB.droppedLoss).toBe(5000 - b.got.length);
  });

  it('measures the configured random loss rate', async () => {
    const { bridge, a, b } = await bridgeBetween({ delayMs: 0, lossRate: 0.03 }, { delayMs: 0 }, 9);
    const n = 20_000;
    await send(a, bridge.portA, n, 64);
    await settle(b, n);
    expect(bridge.stats().aToB.sent).toBe(n);
    expect(b.got).toHaveLength(bridge.stats().aToB.delivered);
    const rate = (n - b.got.length) / n;
    expect(rate).toBeGreaterThan(0.027);
    expect(rate).toBeLessThan(0.033);
  });

  it('measures the configured Gilbert-Elliott loss rate and burst length', async () => {
    const link: LinkConfig = { delayMs: 0, burstLoss: { meanLossRate: 0.05, meanBurstLength: 4 } };
    const { bridge, a, b } = await bridgeBetween(link, { delayMs: 0 }, 7);
    const n = 40_000;
    await send(a, bridge.portA, n, 64);
    await settle(b, n);
    // Every datagram reached the model and every one it passed arrived: what is missing was lost
    // by the model, not by the host.
    expect(bridge.stats().aToB.sent).toBe(n);
    expect(b.got).toHaveLength(bridge.stats().aToB.delivered);
    const seqs = b.got.map((g) => g.seq);
    const bursts: number[] = [];
    let prev = -1;
    for (const seq of [...seqs, n]) {
      if (seq > prev + 1) bursts.push(seq - prev - 1);
      prev = seq;
    }
    const lost = n - seqs.length;
    expect(lost / n).toBeGreaterThan(0.045);
    expect(lost / n).toBeLessThan(0.055);
    const meanBurst = bursts.reduce((s, x) => s + x, 0) / bursts.length;
    expect(meanBurst).toBeGreaterThan(3.6);
    expect(meanBurst).toBeLessThan(4.4);
  });

  it('delays each datagram by the configured one-way delay, never less', async () => {
    const { bridge, a, b } = await bridgeBetween({ delayMs: 40 }, { delayMs: 40 }, 1);
    for (let i = 0; i < 100; i++) {
      await send(a, bridge.portA, 1, 32);
      await new Promise((r) => setTimeout(r, 2));
    }
    await settle(b, 100);
    const delays = b.got.map((g) => g.at - g.sentAt).sort((x, y) => x - y);
    expect(delays).toHaveLength(100);
    // Never early: the model's delay is a floor. Above it is only event-loop lateness, which a
    // busy machine (the whole suite runs in parallel) stretches: the quickest datagrams show the
    // bridge adds next to nothing, the median that it stays close.
    expect(delays[0]).toBeGreaterThanOrEqual(40);
    expect(delays[5]).toBeLessThan(42);
    expect(delays[50]).toBeLessThan(50);
  });

  it('paces a burst at the rate cap', async () => {
    // 1000 datagrams of 1250 bytes (whole IP packets: no overhead added) at 20 Mbit/s take 0.5 s.
    const { bridge, a, b } = await bridgeBetween({ delayMs: 0, rateMbps: 20, overheadBytes: 0 }, { delayMs: 0 }, 1);
    await send(a, bridge.portA, 1000, 1250);
    await settle(b, 1000);
    expect(b.got).toHaveLength(1000);
    const spanMs = b.got[999].at - b.got[0].sentAt;
    // Never faster than the cap; slower only by event-loop lateness at the end.
    expect(spanMs).toBeGreaterThan(500 * 0.98);
    expect(spanMs).toBeLessThan(500 * 1.08);
    // And evenly: the middle datagram leaves half-way through.
    expect(b.got[499].at - b.got[0].sentAt).toBeGreaterThan(250 * 0.98);
    expect(b.got[499].at - b.got[0].sentAt).toBeLessThan(250 * 1.1);
  });

  it('drops everything inside a blackout set on the fly', async () => {
    const { bridge, a, b } = await bridgeBetween({ delayMs: 0 }, { delayMs: 0 }, 1);
    const now = bridge.now();
    bridge.setConfig('aToB', { blackouts: [{ fromMs: now, toMs: now + 60_000 }] });
    await send(a, bridge.portA, 50, 32);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.got).toHaveLength(0);
    expect(bridge.stats().aToB.droppedBlackout).toBe(50);
    bridge.setConfig('aToB', { blackouts: undefined });
    await send(a, bridge.portA, 10, 32);
    await settle(b, 10);
    expect(b.got).toHaveLength(10);
  });
});
