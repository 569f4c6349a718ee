import dgram from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ImpairmentProxy } from '../../src/lab/impairmentProxy.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function socket(): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  cleanups.push(() => new Promise<void>((done) => s.close(() => done())));
  return s;
}

async function proxyTo(target: dgram.Socket, opts: Omit<Parameters<typeof ImpairmentProxy.start>[0], 'listen' | 'target'>) {
  const proxy = await ImpairmentProxy.start({
    listen: { host: '127.0.0.1', port: 0 },
    target: { host: '127.0.0.1', port: target.address().port },
    ...opts,
  });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A datagram of `size` bytes carrying a sequence number and the send time. */
function stamped(seq: number, size = 1200): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(seq, 0);
  b.writeDoubleBE(performance.now(), 4);
  return b;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How late a busy host may run a due delivery: the proxy, its clients and other tests share this
 * process's event loop and the machine's cores (quiet, the median is under 1 ms late; with one
 * core spinning and the rest of the suite running, 4 ms was once exceeded by 0.009 ms). Each leg
 * is checked on its own, so the slack stays below the 10 ms between the two legs' delays.
 */
const HOST_SLACK_MS = 8;

/**
 * Sends `total` datagrams at `pps`, catching up on late timer ticks so the offered rate holds
 * even when the event loop is busy. Resolves when all are sent.
 */
async function sendAt(client: dgram.Socket, port: number, pps: number, total: number, size = 1200): Promise<void> {
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * pps) / 1000) + 1);
    for (; sent < due; sent++) client.send(stamped(sent, size), port, '127.0.0.1');
    await sleep(2);
  }
}

describe('ImpairmentProxy over loopback', () => {
  it('delays each direction by its link delay, never early, late only by what a busy host adds', async () => {
    const target = await socket();
    const client = await socket();
    const proxy = await proxyTo(target, { aToB: { delayMs: 20 }, bToA: { delayMs: 10 }, seed: 1 });
    // Per sequence number: when it reached the target, and when its echo reached the client.
    const atTarget: number[] = [];
    const oneWay: number[] = [];
    const back: number[] = [];
    target.on('message', (msg, rinfo) => {
      const now = performance.now();
      atTarget[msg.readUInt32BE(0)] = now;
      oneWay.push(now - msg.readDoubleBE(4));
      target.send(msg, rinfo.port, rinfo.address);
    });
    client.on('message', (msg) => back.push(performance.now() - atTarget[msg.readUInt32BE(0)]));
    await sendAt(client, proxy.address.port, 500, 250);
    await sleep(100);
    expect(back).toHaveLength(250);
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.min(...oneWay)).toBeGreaterThanOrEqual(20);
    expect(median(oneWay)).toBeLessThan(20 + HOST_SLACK_MS);
    expect(mean(oneWay)).toBeLessThan(20 + 2 * HOST_SLACK_MS);
    expect(Math.min(...back)).toBeGreaterThanOrEqual(10);
    expect(median(back)).toBeLessThan(10 + HOST_SLACK_MS);
    expect(proxy.stats()).toMatchObject({ clients: 1, pending: 0 });
  });

  it('drops at the configured loss rate', async () => {
    const seed = 2;
    const target = await socket();
    const client = await socket();
    const proxy = await proxyTo(target, { aToB: { delayMs: 5, lossRate: 0.1 }, bToA: { delayMs: 5 }, seed });
    let received = 0;
    target.on('message', () => received++);
    const n = 4_000;
    await sendAt(client, proxy.address.port, 10_000, n);
    // The last datagrams sent may not have been read by the proxy yet (same event loop).
    for (let waited = 0; proxy.stats().aToB.sent < n && waited < 2000; waited += 20) await sleep(20);
    const settled = () => proxy.stats().pending === 0 && received >= proxy.stats().aToB.delivered;
    for (let waited = 0; !settled() && waited < 2000; waited += 20) await sleep(20);
    const { aToB } = proxy.stats();
    // The loss rate counts what the proxy read: with a core busy elsewhere its own socket dropped
    // 274 of 4,000 once, while this process was sending them and not reading.
    expect(aToB.sent).toBeGreaterThan(0.9 * n);
    expect(Math.abs(1 - aToB.delivered / aToB.sent - 0.1), `seed ${seed}`).toBeLessThan(5 * Math.sqrt((0.1 * 0.9) / aToB.sent));
    // What the proxy delivered reached the target, less what the kernel dropped from the target's
    // socket buffer while a busy host left it unread (240 of 3,616 with one core busy elsewhere).
    expect(received, `seed ${seed}`).toBeLessThanOrEqual(aToB.delivered);
    expect(received, `seed ${seed}`).toBeGreaterThan(0.9 * aToB.delivered);
  });

  it('caps the rate (within 5% above, near it below) and bounds the queue under 2x overload', async () => {
    const target = await socket();
    const client = await socket();
    const rateMbps = 20;
    const proxy = await proxyTo(target, {
      aToB: { delayMs: 5, rateMbps, queueMs: 50 },
      bToA: { delayMs: 5 },
      seed: 3,
    });
    const arrivals: number[] = [];
    target.on('message', () => arrivals.push(performance.now()));
    const wirePps = (rateMbps * 1e6) / 8 / 1228;
    await sendAt(client, proxy.address.port, 2 * wirePps, Math.round(2 * wirePps * 1.5));
    await sleep(100);
    // Skip the first 200 ms (queue filling) and measure the steady state to the last arrival.
    const from = arrivals.findIndex((t) => t >= arrivals[0] + 200);
    const span = arrivals[arrivals.length - 1] - arrivals[from];
    const mbps = ((arrivals.length - 1 - from) * 1228 * 8) / span / 1e3;
    // Never above the cap; below it only as far as a busy host, reading the offered load late,
    // leaves the modelled link idle (17.8 of 20 Mbit/s with one core busy elsewhere).
    expect(mbps, `${mbps.toFixed(2)} Mbit/s`).toBeLessThan(rateMbps * 1.05);
    expect(mbps, `${mbps.toFixed(2)} Mbit/s`).toBeGreaterThan(rateMbps * 0.75);
    const { aToB } = proxy.stats();
    expect(aToB.droppedQueue).toBeGreaterThan(aToB.sent / 3);
    expect(aToB.maxQueueDelayMs).toBeLessThanOrEqual(50);
    expect(arrivals).toHaveLength(aToB.delivered);
  });

  it('maps each client port to its own upstream socket and routes replies back', async () => {
    const target = await socket();
    const c1 = await socket();
    const c2 = await socket();
    const proxy = await proxyTo(target, { aToB: { delayMs: 1 }, bToA: { delayMs: 1 }, seed: 4 });
    const seenPorts = new Set<number>();
    target.on('message', (msg, rinfo) => {
      seenPorts.add(rinfo.port);
      target.send(msg, rinfo.port, rinfo.address);
    });
    const got1: string[] = [];
    const got2: string[] = [];
    c1.on('message', (m) => got1.push(m.toString()));
    c2.on('message', (m) => got2.push(m.toString()));
    for (let i = 0; i < 5; i++) {
      c1.send(`one ${i}`, proxy.address.port, '127.0.0.1');
      c2.send(`two ${i}`, proxy.address.port, '127.0.0.1');
    }
    await sleep(100);
    expect(got1).toEqual([0, 1, 2, 3, 4].map((i) => `one ${i}`));
    expect(got2).toEqual([0, 1, 2, 3, 4].map((i) => `two ${i}`));
    expect(seenPorts.size).toBe(2);
    expect(seenPorts.has(proxy.address.port)).toBe(false);
    expect(proxy.stats().clients).toBe(2);
  });

  it('rejects an invalid link config before binding anything', async () => {
    await expect(
      ImpairmentProxy.start({
        listen: { host: '127.0.0.1', port: 0 },
        target: { host: '127.0.0.1', port: 9 },
        aToB: { delayMs: 1, lossRate: 2 },
        bToA: { delayMs: 1 },
        seed: 6,
      }),
    ).rejects.toThrow(RangeError);
  });

  it('blacks a direction out on the fly', async () => {
    const target = await socket();
    const client = await socket();
    const proxy = await proxyTo(target, { aToB: { delayMs: 1 }, bToA: { delayMs: 1 }, seed: 5 });
    const got: number[] = [];
    target.on('message', (msg) => got.push(msg.readUInt32BE(0)));
    client.send(stamped(0), proxy.address.port, '127.0.0.1');
    await sleep(20);
    const now = proxy.now();
    proxy.setConfig('aToB', { blackouts: [{ fromMs: now, toMs: now + 100 }] });
    client.send(stamped(1), proxy.address.port, '127.0.0.1');
    await sleep(120);
    client.send(stamped(2), proxy.address.port, '127.0.0.1');
    await sleep(20);
    expect(got).toEqual([0, 2]);
    expect(proxy.stats().aToB.droppedBlackout).toBe(1);
  });
});
