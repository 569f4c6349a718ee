/**
 * Entry and exit relays over real loopback UDP and TCP with the real core: bridging,
 * backpressure, half-close, reset propagation, waiting for a session and re-dialing.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HostPort } from '../../src/io/address.ts';
import type { SessionConfig } from '../../src/session/config.ts';
import { sessionCore, startRelay, type Relay } from '../../src/relay/startRelay.ts';
import { collect, connect, Service, sha256, until } from './harness.ts';

const log = pino({ level: 'silent' });
const LOOPBACK: HostPort = { host: '127.0.0.1', port: 0 };
const PSK = randomBytes(32);
/**
 * Windows small enough that backpressure shows within a few MiB, not the 24 MiB a stream may
 * hold by default.
 */
const CONFIG: Partial<SessionConfig> = {
  streamWindowBytes: 256 * 1024,
  sessionWindowBytes: 1024 * 1024,
  streamSendBufferBytes: 256 * 1024,
  sessionSendBufferBytes: 1024 * 1024,
};
const core = sessionCore(PSK, CONFIG);

/** Resolves once `value()` has not changed for `ms`. */
async function quiet(value: () => number, ms: number): Promise<void> {
  let last = value();
  for (;;) {
    await new Promise((r) => setTimeout(r, ms));
    const now = value();
    if (now === last) return;
    last = now;
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function exitRelay(forward: HostPort, udp: HostPort = LOOPBACK): Promise<Relay> {
  const r = await startRelay({ tcp: { forward }, udp: { listen: [udp] }, core, log });
  cleanups.push(() => r.stop(0));
  return r;
}

async function entryRelay(peers: HostPort[], waitForSessionMs?: number): Promise<Relay> {
  const r = await startRelay({
    tcp: { listen: LOOPBACK },
    udp: { peers },
    core,
    log,
    backoff: { initialMs: 50, maxMs: 200 },
    waitForSessionMs,
  });
  cleanups.push(() => r.stop(0));
  return r;
}

async function pair(): Promise<{ service: Service; exit: Relay; entry: Relay }> {
  const service = await Service.start();
  cleanups.push(() => service.close());
  const exit = await exitRelay(service.address);
  const entry = await entryRelay(exit.udpAddresses);
  return { service, exit, entry };
}

describe('relay pair', () => {
  it('carries bytes both ways at once, intact, with FIN both ways', async () => {
    const { service, entry } = await pair();
    const up = randomBytes(3 << 20);
    const down = randomBytes(2 << 20);
    const atService = new Promise<Awaited<ReturnType<typeof collect>>>((ok) => {
      service.onConnection = (s) => {
        void collect(s).then(ok);
        s.end(down);
      };
    });
    const client = connect(entry.tcpAddress!);
    const atClient = collect(client);
    client.end(up);
    const [s, c] = await Promise.all([atService, atClient]);
    expect(s).toMatchObject({ bytes: up.length, sha256: sha256(up), ended: true, error: null });
    expect(c).toMatchObject({ bytes: down.length, sha256: sha256(down), ended: true, error: null });
    await until(() => entry.openStreams === 0, 5000, 'stream cleanup');
    expect(entry.totals).toMatchObject({ opened: 1, finished: 1, aborted: 0, bytesFromTcp: up.length, bytesToTcp: down.length });
  });

  it('keeps the other direction open after a half-close', async () => {
    const { service, entry } = await pair();
    const reply = randomBytes(100_000);
    service.onConnection = (s) => {
      const got: Buffer[] = [];
      s.on('data', (b: Buffer) => got.push(b));
      // Answer only after the client's FIN arrived: the reply must still get through.
      s.on('end', () => {
        s.write(Buffer.concat(got));
        s.end(reply);
      });
    };
    const client = connect(entry.tcpAddress!);
    const atClient = collect(client);
    client.end('question');
    const c = await atClient;
    expect(c.ended).toBe(true);
    expect(c.bytes).toBe(8 + reply.length);
  });

  it('turns a client reset into a service-side reset', async () => {
    const { service, entry } = await pair();
    const atService = new Promise<Awaited<ReturnType<typeof collect>>>((ok) => {
      service.onConnection = (s) => void collect(s).then(ok);
    });
    const client = connect(entry.tcpAddress!);
    client.on('error', () => {});
    client.write('hello');
    await until(() => service.connections.length === 1, 5000, 'service connection');
    client.resetAndDestroy();
    const s = await atService;
    expect(s.ended).toBe(false);
    expect(s.error).toBe('ECONNRESET');
  });

  it('turns a service reset into a client-side reset', async () => {
    const { service, entry } = await pair();
    service.onConnection = (s) => {
      s.once('data', () => s.resetAndDestroy());
    };
    const client = connect(entry.tcpAddress!);
    const atClient = collect(client);
    client.write('hello');
    const c = await atClient;
    expect(c.ended).toBe(false);
    expect(c.error).toBe('ECONNRESET');
  });

  it('resets the client promptly when the service refuses the connection', async () => {
    const closed = await new Promise<number>((ok) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => ok(port));
      });
    });
    const exit = await exitRelay({ host: '127.0.0.1', port: closed });
    const entry = await entryRelay(exit.udpAddresses);
    const started = Date.now();
    const c = await collect(connect(entry.tcpAddress!));
    expect(c.error).toBe('ECONNRESET');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('pauses a fast sender while the service does not read, with bounded memory', async () => {
    const { service, entry } = await pair();
    let serviceSocket: net.Socket | null = null;
    service.onConnection = (s) => {
      serviceSocket = s;
      s.pause();
    };
    const client = connect(entry.tcpAddress!);
    const total = 64 << 20;
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    const pump = (): void => {
      while (written < total) {
        written += chunk.length;
        if (!client.write(chunk)) return;
      }
      client.end();
    };
    client.on('drain', pump);
    pump();
    await until(() => serviceSocket !== null, 5000, 'service connection');
    await quiet(() => written, 300);
    // What got in is kernel socket buffers on both TCP legs plus one stream window and send
    // buffer: far below what was offered.
    expect(written).toBeLessThan(total / 2);
    const atService = collect(serviceSocket!);
    serviceSocket!.on('end', () => serviceSocket!.end());
    serviceSocket!.resume();
    const s = await atService;
    expect(s).toMatchObject({ bytes: total, ended: true });
  });

  it('holds connections until the tunnel is up, then carries them', async () => {
    const service = await Service.start();
    cleanups.push(() => service.close());
    // Reserve a UDP port for the exit relay that starts late.
    const probe = await exitRelay(service.address);
    const udp = probe.udpAddresses[0];
    await probe.stop(0);
    cleanups.pop();
    const entry = await entryRelay([udp]);
    const client = connect(entry.tcpAddress!);
    const atClient = collect(client);
    client.end('early bird');
    // The connection waits with no tunnel to carry it (the exit relay is not up) for a while.
    await new Promise((r) => setTimeout(r, 300));
    await exitRelay(service.address, udp);
    const c = await atClient;
    expect(c).toMatchObject({ bytes: 10, ended: true });
  });

  it('goes ahead on the paths it can reach when a peer name does not resolve', async () => {
    const service = await Service.start();
    cleanups.push(() => service.close());
    const exit = await exitRelay(service.address);
    // A slow resolver delays the dial, so let the connection wait longer than the default.
    const entry = await entryRelay([{ host: 'no-such-relay.invalid', port: 7000 }, exit.udpAddresses[0]], 40_000);
    const client = connect(entry.tcpAddress!);
    const atClient = collect(client);
    client.end('one path is enough');
    expect(await atClient).toMatchObject({ bytes: 18, ended: true });
  });

  it('resets a waiting connection when no session comes in time', async () => {
    const entry = await entryRelay([{ host: '127.0.0.1', port: 9 }], 300);
    const started = Date.now();
    const c = await collect(connect(entry.tcpAddress!));
    expect(c.error).toBe('ECONNRESET');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('re-dials after the exit relay restarts', async () => {
    const { service, exit, entry } = await pair();
    const udp = exit.udpAddresses[0];
    const first = collect(connect(entry.tcpAddress!));
    await until(() => service.connections.length === 1, 5000, 'first connection');
    await exit.stop(0);
    expect((await first).error).toBe('ECONNRESET');
    await exitRelay(service.address, udp);
    await until(() => entry.transport.activeSession !== null, 10_000, 're-dial');
    const client = connect(entry.tcpAddress!);
    const atClient = collect(client);
    client.end('again');
    expect(await atClient).toMatchObject({ bytes: 5, ended: true });
  });
});
