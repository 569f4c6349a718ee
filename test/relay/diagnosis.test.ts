/**
 * The common mistakes, each made for real with two relays in this process on loopback: every one
 * gets one `warn` line saying what to check, within 5 s, on the side that can tell, and the same
 * fact in `/status`, `/healthz` and the `bering_problems` metric. Also: a connection arriving
 * while the tunnel is down skips the redial backoff.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { formatHostPort, type HostPort } from '../../src/io/address.ts';
import { createRelayMetrics } from '../../src/metrics/registry.ts';
import { relayStatus } from '../../src/relay/status.ts';
import { sessionCore, startRelay, type Relay, type RelaySpec } from '../../src/relay/startRelay.ts';
import { parsePrometheusText } from '../metrics/promText.ts';
import { collect, connect, freePort, Service, until } from './harness.ts';

/** A logger at the default level whose lines the test can read. */
function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

const warnings = (lines: Array<Record<string, unknown>>, problem: string) => lines.filter((l) => l.level === 40 && l.problem === problem);

const relays: Relay[] = [];
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop(0)));
  for (const c of cleanups.splice(0)) c();
});

async function relay(spec: Omit<RelaySpec, 'log'>): Promise<{ relay: Relay; lines: Array<Record<string, unknown>> }> {
  const { log, lines } = capture();
  const r = await startRelay({ ...spec, log });
  relays.push(r);
  return { relay: r, lines };
}

const exitOn = (psk: Uint8Array, forward: HostPort, listen: HostPort[] = [{ host: '127.0.0.1', port: 0 }]) =>
  relay({ tcp: { forward }, udp: { listen }, core: sessionCore(psk) });

const entryTo = (psk: Uint8Array, peers: HostPort[], extra: Partial<RelaySpec> = {}, config = {}) =>
  relay({ tcp: { listen: { host: '127.0.0.1', port: 0 } }, udp: { peers }, core: sessionCore(psk, config), ...extra });

async function problemsMetric(r: Relay): Promise<Record<string, number>> {
  const text = await createRelayMetrics(() => relayStatus(r, '0.0.0', 0)).scrape();
  const family = parsePrometheusText(text).get('bering_problems')!;
  return Object.fromEntries(family.samples.map((s) => [s.labels.kind, s.value]));
}

/** A UDP port that takes everything and answers nothing: a firewall that drops. */
async function blackhole(): Promise<HostPort> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((ok) => socket.bind(0, '127.0.0.1', ok));
  cleanups.push(() => socket.close());
  return { host: '127.0.0.1', port: socket.address().port };
}

describe('diagnosis of common mistakes', () => {
  it('different keys: the exit relay says so once, the entry relay says what to check', async () => {
    const service = await Service.start();
    cleanups.push(() => void service.close());
    const exit = await exitOn(randomBytes(32), service.address);
    const started = Date.now();
    const entry = await entryTo(randomBytes(32), exit.relay.udpAddresses, {}, { handshakeRetryMs: 200 });
    await until(() => warnings(exit.lines, 'wrong-key').length > 0, 5000, "the exit relay's wrong-key line");
    expect(warnings(exit.lines, 'wrong-key')[0].msg).toMatch(
      /^handshake from 127\.0\.0\.1:\d+ failed authentication: the peers hold different keys\? \(copy the same key file to both relays\)$/,
    );
    await until(() => warnings(entry.lines, 'peer-unreachable').length > 0, 5000 - (Date.now() - started), "the entry relay's line");
    expect(warnings(entry.lines, 'peer-unreachable')[0].msg).toContain(
      `no answer to the handshake from ${formatHostPort(exit.relay.udpAddresses[0])} for 4 s: is the other relay running, UDP ${exit.relay.udpAddresses[0].port} open in its firewall, and the same key on both relays?`,
    );
    // Many handshakes failed, one line said so.
    expect(exit.relay.transport.counters().listener!.handshakeAuthFailures).toBeGreaterThan(3);
    expect(warnings(exit.lines, 'wrong-key')).toHaveLength(1);

    const entryStatus = relayStatus(entry.relay, '0.0.0', 0);
    expect(entryStatus.health.ok).toBe(false);
    expect(entryStatus.health.reason).toMatch(/^no tunnel session: handshaking; no answer to the handshake from /);
    expect(relayStatus(exit.relay, '0.0.0', 0).problems.map((p) => p.kind)).toEqual(['wrong-key']);
    expect(await problemsMetric(exit.relay)).toMatchObject({ 'wrong-key': 1, 'forward-failed': 0 });
    expect(await problemsMetric(entry.relay)).toMatchObject({ 'peer-unreachable': 1, 'wrong-key': 0 });
  });

  it('a path that never answers: the entry relay names it and the port to open', async () => {
    const service = await Service.start();
    cleanups.push(() => void service.close());
    const psk = randomBytes(32);
    const exit = await exitOn(psk, service.address);
    const dark = await blackhole();
    const started = Date.now();
    const entry = await entryTo(psk, [exit.relay.udpAddresses[0], dark]);
    await until(() => warnings(entry.lines, 'path-silent').length > 0, 5000, 'the silent path line');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(warnings(entry.lines, 'path-silent').map((l) => l.msg)).toEqual([
      `path 1 (127.0.0.1:${dark.port}): no answer for 4 s: is UDP ${dark.port} open in the other relay's firewall, and does 127.0.0.1 reach it (IPv4 or IPv6)?`,
    ]);
    const status = relayStatus(entry.relay, '0.0.0', 0);
    // The relay can work (one path is up), and says what is wrong with the other.
    expect(status.health).toMatchObject({ ok: true, reason: expect.stringMatching(/up with 1 of 2 paths up$/) });
    expect(status.problems.map((p) => [p.kind, p.subject])).toEqual([['path-silent', 'path 1']]);
    expect(await problemsMetric(entry.relay)).toMatchObject({ 'path-silent': 1 });
    // Never measured, so no loss figure for the dark path (not the 2% prior).
    const dead = status.sessions[0].paths.find((p) => p.id === 1)!;
    expect(dead).toMatchObject({ lossRatio: null, meanLossBurst: null, lossMeasuredPackets: 0 });
  });

  it('the service refuses: the exit relay gives the address and errno, and /healthz turns 503 until it accepts again', async () => {
    const port = await freePort('tcp');
    const target = { host: '127.0.0.1', port };
    const psk = randomBytes(32);
    const exit = await exitOn(psk, target);
    const entry = await entryTo(psk, exit.relay.udpAddresses);
    await until(() => entry.relay.transport.activeSession !== null, 5000, 'the tunnel');
    expect(relayStatus(exit.relay, '0.0.0', 0).health.ok).toBe(true);
    const refused = await collect(connect(entry.relay.tcpAddress!));
    expect(refused.ended).toBe(false);
    await until(() => warnings(exit.lines, 'forward-failed').length > 0, 5000, 'the forward line');
    expect(warnings(exit.lines, 'forward-failed')[0].msg).toBe(`forward 127.0.0.1:${port}: connection refused (ECONNREFUSED)`);
    expect(relayStatus(exit.relay, '0.0.0', 0).health).toEqual({ ok: false, reason: `forward 127.0.0.1:${port}: connection refused (ECONNREFUSED): new streams fail` });
    expect(await problemsMetric(exit.relay)).toMatchObject({ 'forward-failed': 1 });

    // The service comes up: the relay's own probe (every 5 s) finds it before any viewer does.
    const server = net.createServer((s) => {
      // The relay's probe connects and leaves at once: its reset is no failure here.
      s.on('error', () => {});
      s.end('hello');
    });
    await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
    cleanups.push(() => server.close());
    await until(() => relayStatus(exit.relay, '0.0.0', 0).health.ok, 7000, 'the probe to find the service');
    expect(relayStatus(exit.relay, '0.0.0', 0).problems).toEqual([]);
    expect(exit.lines.some((l) => l.msg === `forward 127.0.0.1:${port}: connected again`)).toBe(true);
    const c = connect(entry.relay.tcpAddress!);
    c.end();
    expect(await collect(c)).toMatchObject({ bytes: 5, ended: true });
  });

  it('a connection while the tunnel is down redials at once instead of waiting out the backoff', async () => {
    const service = await Service.start();
    cleanups.push(() => void service.close());
    const psk = randomBytes(32);
    const udp = { host: '127.0.0.1', port: await freePort('udp') };
    // Nothing at the exit's address yet: the first dial gives up quickly and the next one is 60 s away.
    const { log, lines } = capture();
    const entry = await startRelay({
      tcp: { listen: { host: '127.0.0.1', port: 0 } },
      udp: { peers: [udp] },
      core: sessionCore(psk, { handshakeTimeoutMs: 300, handshakeRetryMs: 100 }),
      backoff: { initialMs: 60_000, maxMs: 60_000 },
      waitForSessionMs: 5000,
      log,
    });
    relays.push(entry);
    await until(() => lines.some((l) => l.msg === 'redialing'), 3000, 'the first redial to be scheduled');
    await exitOn(psk, service.address, [udp]);
    const connectedAt = Date.now();
    const c = connect(entry.tcpAddress!);
    const echoed = collect(c);
    c.end('ping');
    expect(await echoed).toMatchObject({ bytes: 4, ended: true });
    expect(Date.now() - connectedAt).toBeLessThan(3000);
    expect(lines.some((l) => l.msg === 'a connection is waiting for the tunnel: redialing now')).toBe(true);
  });
});
