/**
 * WebRTC paths end to end: two in-process relays with the real core on loopback, joined only by a
 * WebRTC data channel, then by a UDP path and a WebRTC path together; TCP transfers both ways
 * must arrive intact, and the WebRTC path must really carry the tunnel's packets.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HostPort } from '../../src/io/address.ts';
import type { CoreSession } from '../../src/io/core.ts';
import type { PeerAddress } from '../../src/io/peerDialer.ts';
import { sessionCore, startRelay, type Relay } from '../../src/relay/startRelay.ts';
import { collect, connect, Service, sha256, until } from './harness.ts';

const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const LOOPBACK: HostPort = { host: '127.0.0.1', port: 0 };

const relays: Relay[] = [];
const services: Service[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop(0)));
  await Promise.all(services.splice(0).map((s) => s.close()));
});

/** An exit relay accepting `udp` paths and WebRTC paths, and an entry relay dialing `peers(exit)`. */
async function pair(udp: HostPort[], peers: (exit: Relay) => PeerAddress[]): Promise<{ entry: Relay; exit: Relay; service: Service }> {
  const psk = randomBytes(32);
  const service = await Service.start();
  services.push(service);
  const exit = await startRelay({ tcp: { forward: service.address }, udp: { listen: udp }, webrtc: { psk, listen: LOOPBACK }, core: sessionCore(psk), log });
  relays.push(exit);
  const entry = await startRelay({ tcp: { listen: LOOPBACK }, udp: { peers: peers(exit) }, webrtc: { psk }, core: sessionCore(psk), log });
  relays.push(entry);
  await until(() => entry.transport.activeSession !== null, 15_000, 'the session');
  return { entry, exit, service };
}

/** Sends `up` through the entry relay while the service sends `down`; checks both arrive intact. */
async function transfer(entry: Relay, service: Service, bytes: number): Promise<void> {
  const up = randomBytes(bytes);
  const down = randomBytes(bytes);
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
}

function pathCounters(session: CoreSession | null, pathId: number) {
  return session?.stats?.().paths.find((p) => p.id === pathId)?.counters;
}

describe('WebRTC paths between two relays', () => {
  it('carries 8 MiB each way intact when a WebRTC data channel is the only path', async () => {
    const { entry, exit, service } = await pair([], (exit) => [{ ...exit.webrtcAddress!, webrtc: true }]);
    expect(exit.udpAddresses).toEqual([]);
    await transfer(entry, service, 8 << 20);
    // Everything, the handshake included, crossed the data channel: path 0 is the only path.
    const counters = pathCounters(entry.transport.activeSession, 0);
    expect(counters?.packetsReceived).toBeGreaterThan(6000);
    expect(entry.transport.sessionViews()[0].pathPeer(0)).toBe(`webrtc://127.0.0.1:${exit.webrtcAddress!.port}`);
    expect(exit.transport.sessionViews()[0].pathPeer(0)).toMatch(/^webrtc:/);
  });

  it('carries 8 MiB each way intact over a UDP path and a WebRTC path at once', async () => {
    const { entry, service } = await pair([LOOPBACK], (exit) => [exit.udpAddresses[0], { ...exit.webrtcAddress!, webrtc: true }]);
    const session = entry.transport.activeSession;
    // The WebRTC path joins once its channel is open and it has answered the session's probe.
    await until(() => session?.stats?.().paths.find((p) => p.id === 1)?.state === 'up', 10_000, 'the WebRTC path to come up');
    await transfer(entry, service, 8 << 20);
    expect(pathCounters(session, 0)?.packetsReceived).toBeGreaterThan(0);
    expect(pathCounters(session, 1)?.packetsReceived).toBeGreaterThan(0);
  });

  it('tells the exit relay at once when the entry relay stops (the close crosses the channel)', async () => {
    const { entry, exit } = await pair([], (exit) => [{ ...exit.webrtcAddress!, webrtc: true }]);
    await until(() => exit.transport.activeSession !== null, 5000, 'the exit side of the session');
    const atExit = exit.transport.activeSession!;
    const started = Date.now();
    relays.splice(relays.indexOf(entry), 1);
    await entry.stop(0);
    // Not the idle timeout (8 s): the session's close packet arrived.
    await until(() => atExit.isClosed, 2000, 'the exit relay to see the session close');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
