/**
 * Limits: at `--max-streams` a relay refuses new streams (the viewer's connection is reset at
 * once), at `--max-sessions` and `--handshake-rate` the exit relay refuses handshakes, and a
 * session's peer opening more streams than it may gets them reset with code Refused. Each refusal
 * is counted (`Relay.streamsRefused`, `ListenerStats.sessionsRefused` and
 * `handshakesRateLimited`) and logged with its reason, at most once per 10 s. Relays run in this
 * process here, so their counters can be read directly.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRelayArgs } from '../../src/cli/relayOptions.ts';
import type { SessionEvent } from '../../src/session/api.ts';
import { DEFAULT_SESSION_CONFIG } from '../../src/session/config.ts';
import { Listener } from '../../src/session/listener.ts';
import { sessionCore, startRelay, type Relay } from '../../src/relay/startRelay.ts';
import { SeededRng } from '../../src/base/rng.ts';
import { ResetCode } from '../../src/session/resetCode.ts';
import { Session } from '../../src/session/session.ts';
import { SimNetwork, symmetric } from '../../src/sim/network.ts';
import { tempDir, writeTemp } from '../cli/run.ts';
import { connect, Service, until } from '../relay/harness.ts';
import { DialerSide, ListenerSide, WALL_EPOCH } from '../security/simPair.ts';
import { closed } from './processes.ts';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Logs = Array<Record<string, unknown>>;
function logger(into: Logs): pino.Logger {
  return pino({ level: 'info' }, { write: (line: string) => void into.push(JSON.parse(line) as Record<string, unknown>) });
}

async function relayPair(
  opts: { psk?: Uint8Array; entryMaxStreams?: number; entryMaxConnsPerIp?: number; exitMaxStreams?: number; exitLimits?: Parameters<typeof sessionCore>[2] } = {},
) {
  const psk = opts.psk ?? randomBytes(32);
  const service = await Service.start();
  // Holds every connection open: streams stay live until the test ends them.
  service.onConnection = (s) => s.resume();
  cleanups.push(() => service.close());
  const exitLogs: Logs = [];
  const entryLogs: Logs = [];
  const exit = await startRelay({
    tcp: { forward: service.address },
    udp: { listen: [{ host: '127.0.0.1', port: 0 }] },
    core: sessionCore(psk, {}, opts.exitLimits),
    log: logger(exitLogs),
    maxStreams: opts.exitMaxStreams,
  });
  cleanups.push(() => exit.stop(0));
  const entry = await startRelay({
    tcp: { listen: { host: '127.0.0.1', port: 0 } },
    udp: { peers: exit.udpAddresses },
    core: sessionCore(psk),
    log: logger(entryLogs),
    maxStreams: opts.entryMaxStreams,
    maxConnsPerIp: opts.entryMaxConnsPerIp,
  });
  cleanups.push(() => entry.stop(0));
  await until(() => entry.transport.activeSession !== null, 10_000, 'the session');
  return { psk, service, exit, entry, exitLogs, entryLogs };
}

/** Opens `n` connections that stay open; resolves with how each one ended, or 'open' after `waitMs`. */
async function openMany(relay: Relay, n: number, waitMs: number): Promise<Array<string | null>> {
  const sockets: net.Socket[] = [];
  const ends = Array.from({ length: n }, () => {
    const s = connect(relay.tcpAddress!);
    sockets.push(s);
    s.write('hello');
    return closed(s).then((c) => c.error);
  });
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  const timeout = new Promise<'open'>((ok) => setTimeout(() => ok('open'), waitMs));
  return Promise.all(ends.map((e) => Promise.race([e, timeout])));
}

describe('limits', () => {
  it('parses the limit flags into the relay and core settings', () => {
    const key = writeTemp(tempDir(), 'k', randomBytes(32).toString('base64'));
    const s = parseRelayArgs([
      '--udp-listen', '127.0.0.1:7000', '--forward', '127.0.0.1:80', '--key-file', key,
      '--max-streams', '100', '--max-sessions', '4', '--handshake-rate', '5', '--max-buffer-mb', '16', '--max-conns-per-ip', '9',
    ])!;
    expect(s.maxStreams).toBe(100);
    expect(s.maxConnsPerIp).toBe(9);
    expect(s.listener).toEqual({ maxSessions: 4, handshakeRate: { perSecond: 5, burst: 10 } });
    expect(s.session).toMatchObject({ maxStreams: 100, sessionWindowBytes: 8 << 20, sessionSendBufferBytes: 8 << 20, streamWindowBytes: 8 << 20, streamSendBufferBytes: 8 << 20 });
    const big = parseRelayArgs(['--udp-listen', '127.0.0.1:7000', '--forward', '127.0.0.1:80', '--key-file', key, '--max-buffer-mb', '1024'])!;
    expect(big.session.streamWindowBytes).toBe(DEFAULT_SESSION_CONFIG.streamWindowBytes);
    const yaml = writeTemp(tempDir(), 'exit.yaml', `udpListen: 127.0.0.1:7000\nforward: 127.0.0.1:80\nkeyFile: ${key}\nmaxStreams: 7\nmaxSessions: 2\nmaxConnsPerIp: 5\n`);
    expect(parseRelayArgs(['--config', yaml])).toMatchObject({ maxStreams: 7, maxConnsPerIp: 5, listener: { maxSessions: 2 } });
    for (const bad of [['--max-streams', '0'], ['--max-streams', '2.5'], ['--max-sessions', 'many'], ['--handshake-rate', '0'], ['--max-buffer-mb', '0.5'], ['--max-conns-per-ip', '0']]) {
      expect(() => parseRelayArgs(['--udp-listen', '127.0.0.1:7000', '--forward', '127.0.0.1:80', '--key-file', key, ...bad]), bad.join(' ')).toThrow(bad[0]);
    }
  });

  it('at the entry relay: connections beyond --max-streams are reset at once, counted and logged', async () => {
    const { entry, entryLogs, service } = await relayPair({ entryMaxStreams: 3 });
    const ends = await openMany(entry, 5, 1500);
    expect(ends.filter((e) => e === 'open')).toHaveLength(3);
    expect(ends.filter((e) => e === 'ECONNRESET')).toHaveLength(2);
    expect(service.connections).toHaveLength(3);
    expect(entry.streamsRefused).toBe(2);
    // One line for both: the second came within 10 s of the first.
    expect(entryLogs.filter((l) => String(l.msg).startsWith('stream refused'))).toHaveLength(1);
  });

  it('at the entry relay: connections from one address beyond --max-conns-per-ip are reset at once, counted and logged', async () => {
    const { entry, entryLogs, service } = await relayPair({ entryMaxConnsPerIp: 3 });
    const ends = await openMany(entry, 5, 1500);
    expect(ends.filter((e) => e === 'open')).toHaveLength(3);
    expect(ends.filter((e) => e === 'ECONNRESET')).toHaveLength(2);
    expect(service.connections).toHaveLength(3);
    expect(entry.connectionsRefusedPerIp).toBe(2);
    expect(entry.streamsRefused).toBe(0);
    expect(entryLogs.filter((l) => String(l.msg).startsWith('connection refused'))).toEqual([
      expect.objectContaining({ tcp: '127.0.0.1', maxConnsPerIp: 3 }),
    ]);
  });

  it('at the exit relay: streams beyond its --max-streams are reset with code Refused, and the viewer sees it', async () => {
    const { entry, exit, exitLogs, service } = await relayPair({ exitMaxStreams: 2 });
    const ends = await openMany(entry, 4, 1500);
    expect(ends.filter((e) => e === 'open')).toHaveLength(2);
    expect(ends.filter((e) => e === 'ECONNRESET')).toHaveLength(2);
    expect(service.connections).toHaveLength(2);
    expect(exit.streamsRefused).toBe(2);
    expect(exitLogs.find((l) => String(l.msg).startsWith('stream refused'))).toMatchObject({ maxStreams: 2 });
  });

  it('at the exit relay: handshakes beyond --max-sessions and --handshake-rate are refused, counted and logged', async () => {
    const psk = randomBytes(32);
    const { exit, exitLogs } = await relayPair({ psk, exitLimits: { maxSessions: 1 } });
    // A second entry relay with the key: its handshakes find the exit relay full.
    const second = await startRelay({ tcp: { listen: { host: '127.0.0.1', port: 0 } }, udp: { peers: exit.udpAddresses }, core: sessionCore(psk), log: pino({ level: 'silent' }) });
    cleanups.push(() => second.stop(0));
    await until(() => (exit.transport.counters().listener?.sessionsRefused ?? 0) > 0, 5000, 'a refused handshake');
    expect(second.transport.activeSession).toBeNull();
    expect(exitLogs.find((l) => l.msg === 'handshake refused: the relay holds --max-sessions sessions already')).toBeDefined();

    const limited = await relayPair({ psk, exitLimits: { handshakeRate: { perSecond: 0.001, burst: 1 } } });
    const third = await startRelay({ tcp: { listen: { host: '127.0.0.1', port: 0 } }, udp: { peers: limited.exit.udpAddresses }, core: sessionCore(psk), log: pino({ level: 'silent' }) });
    cleanups.push(() => third.stop(0));
    await until(() => (limited.exit.transport.counters().listener?.handshakesRateLimited ?? 0) > 0, 5000, 'a rate-limited handshake');
    expect(third.transport.activeSession).toBeNull();
    expect(limited.exitLogs.find((l) => l.msg === 'handshake refused: over --handshake-rate')).toBeDefined();
  });

  it('in the core: a peer opening more streams than the session allows gets them reset with code Refused', () => {
    const dialer = Session.dial({ now: 0, wallNow: WALL_EPOCH, psk: new Uint8Array(32).fill(5), pathIds: [0], rng: new SeededRng(1), config: { maxStreams: 10 } });
    const listener = new Listener({ psk: new Uint8Array(32).fill(5), rng: new SeededRng(2), config: { maxStreams: 3 } });
    const side = new ListenerSide(listener);
    const net = new SimNetwork({ a: new DialerSide(dialer), b: side, paths: [symmetric({ delayMs: 10 })], seed: 1 });
    const events: SessionEvent[] = [];
    const opened: number[] = [];
    net.onStep(() => {
      if (dialer.isConnected && opened.length === 0) for (let i = 0; i < 5; i++) opened.push(dialer.openStream()!);
      for (const id of opened) dialer.streamWrite(id, new Uint8Array(100));
      for (let e = dialer.pollEvent(); e !== null; e = dialer.pollEvent()) events.push(e);
      const server = side.sessions[0];
      for (let e = server?.pollEvent(); e !== null && e !== undefined; e = server.pollEvent()) {
        if (e.type === 'streamReadable') while (server.streamRead(e.streamId) !== null);
      }
    });
    net.runUntil(2000);
    const resets = events.filter((e): e is Extract<SessionEvent, { type: 'streamReset' }> => e.type === 'streamReset');
    expect(resets.map((e) => e.code)).toEqual([ResetCode.Refused, ResetCode.Refused]);
    expect(resets.map((e) => e.streamId)).toEqual(opened.slice(3));
  });
});

