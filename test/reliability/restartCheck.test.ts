/**
 * The entry relay's restart check must never mistake a dark path for a restarted peer: relays in
 * this process, their only path crossing an impairment proxy that goes dark for seconds in the
 * middle of a download. The check runs (the peer is silent), the path comes back, the old session
 * hears from the peer again, and the transfer finishes intact on the same session. When the check
 * starts (not for a dark second, after 1.5 s of silence) is a timing claim, specified on the
 * simulator in test/session/dialerEndpoint.test.ts, where a busy host cannot blur it.
 */
import { createHash, randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ImpairmentProxy } from '../../src/lab/impairmentProxy.ts';
import { sessionCore, startRelay, type Relay } from '../../src/relay/startRelay.ts';
import { collect, connect, Service, until } from '../relay/harness.ts';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function logger(into: Array<Record<string, unknown>>): pino.Logger {
  return pino({ level: 'info' }, { write: (line: string) => void into.push(JSON.parse(line) as Record<string, unknown>) });
}

async function darkSpell(darkMs: number) {
  const psk = randomBytes(32);
  const service = await Service.start();
  cleanups.push(() => service.close());
  const exitLogs: Array<Record<string, unknown>> = [];
  const entryLogs: Array<Record<string, unknown>> = [];
  const exit: Relay = await startRelay({
    tcp: { forward: service.address },
    udp: { listen: [{ host: '127.0.0.1', port: 0 }] },
    core: sessionCore(psk),
    log: logger(exitLogs),
  });
  cleanups.push(() => exit.stop(0));
  const link = { delayMs: 20, rateMbps: 100, queueMs: 50 };
  const proxy = await ImpairmentProxy.start({ listen: { host: '127.0.0.1', port: 0 }, target: exit.udpAddresses[0], aToB: link, bToA: link, seed: 5 });
  cleanups.push(() => proxy.close());
  const entry: Relay = await startRelay({
    tcp: { listen: { host: '127.0.0.1', port: 0 } },
    udp: { peers: [proxy.address] },
    core: sessionCore(psk),
    log: logger(entryLogs),
  });
  cleanups.push(() => entry.stop(0));
  await until(() => entry.transport.activeSession !== null, 10_000, 'the session');
  const sessionId = entry.transport.activeSession!.id;

  const body = randomBytes(12 << 20);
  service.onConnection = (s) => {
    s.resume();
    s.end(body);
  };
  const client = connect(entry.tcpAddress!);
  const got = collect(client);
  let received = 0;
  client.on('data', (b: Buffer) => (received += b.length));
  client.end('go');
  await until(() => received > 2 << 20, 10_000, 'the download to get going');
  const from = proxy.now();
  for (const dir of ['aToB', 'bToA'] as const) proxy.setConfig(dir, { blackouts: [{ fromMs: from, toMs: from + darkMs }] });
  const r = await got;
  return { r, body, entryLogs, sessionId, finalSessionId: entry.transport.activeSession?.id, count: (msg: string) => entryLogs.filter((l) => l.msg === msg).length };
}

describe('restart check on a dark path', () => {
  it('checks, then keeps the session when the path comes back after 3 s', async () => {
    const t = await darkSpell(3000);
    expect(t.r).toMatchObject({ bytes: t.body.length, ended: true, error: null });
    expect(t.r.sha256).toBe(createHash('sha256').update(t.body).digest('hex'));
    expect(t.count('peer silent; checking whether it restarted')).toBeGreaterThanOrEqual(1);
    expect(t.count('restart check ended')).toBeGreaterThanOrEqual(1);
    expect(t.count('peer restarted: session replaced')).toBe(0);
    expect(t.finalSessionId).toBe(t.sessionId);
  });
});
