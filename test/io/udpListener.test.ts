/**
 * The UDP listener driver: replies go where the core says each path is (so a NAT that re-maps
 * the peer's port does not break the session, while a racer replaying its packets draws nothing),
 * and strangers get no answer at all.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { CoreListener } from '../../src/io/core.ts';
import { SessionLoop } from '../../src/io/sessionLoop.ts';
import type { SessionHandler } from '../../src/io/transport.ts';
import { UdpListener } from '../../src/io/udpListener.ts';
import { sessionCore } from '../../src/relay/startRelay.ts';
import { cryptoRng } from '../../src/io/cryptoRng.ts';
import { Session } from '../../src/session/session.ts';

const log = pino({ level: 'silent' });
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function socket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  cleanups.push(() => s.close());
  return s;
}

async function listen(listener: CoreListener, handler: SessionHandler) {
  const t = new UdpListener({ listen: [{ host: '127.0.0.1', port: 0 }], listener, loop: new SessionLoop(), log });
  await t.start(handler);
  cleanups.push(() => t.close('test over'));
  return t;
}

describe('UdpListener', () => {
  it('with the real core: a racer copying packets gets nothing, and a rebound port gets the path once it answered', async () => {
    const psk = randomBytes(32);
    let transport: UdpListener | null = null;
    transport = await listen(sessionCore(psk).listener(), {
      onSessionEvent(s, e) {
        if (e.type === 'streamOpened') {
          s.streamWrite(e.streamId, new TextEncoder().encode('hi'));
          transport!.wake();
        }
      },
    });
    const { port } = transport.addresses[0];
    const [before, after, racer] = await Promise.all([socket(), socket(), socket()]);
    let racerGot = 0;
    racer.on('message', () => racerGot++);
    const client = Session.dial({ now: performance.now(), wallNow: Date.now(), psk, pathIds: [0], rng: cryptoRng });
    let from = before;
    /** Sends what the client has to send from `from`; while racing, a copy goes first from the racer. */
    let racing = false;
    const pump = () => {
      const now = performance.now();
      if ((client.nextTimeout() ?? Infinity) <= now) client.handleTimeout(now);
      for (let t = client.pollTransmit(now); t !== null; t = client.pollTransmit(now)) {
        if (racing) racer.send(t.bytes, port, '127.0.0.1');
        from.send(t.bytes, port, '127.0.0.1');
      }
    };
    const timer = setInterval(pump, 2);
    cleanups.push(() => clearInterval(timer));
    for (const s of [before, after]) {
      s.on('message', (msg: Buffer) => {
        // After the re-mapping the old port no longer reaches the client.
        if (s !== from) return;
        client.handleDatagram(performance.now(), 0, msg);
        pump();
      });
    }
    const read = async (streamId: number): Promise<string> => {
      for (let i = 0; i < 500; i++) {
        const r = client.streamRead(streamId);
        if (r !== null && r !== 'fin') return new TextDecoder().decode(r);
        await new Promise((ok) => setTimeout(ok, 5));
      }
      return '';
    };
    pump();
    while (!client.isConnected) await new Promise((ok) => setTimeout(ok, 5));
    // The racer copies every packet and sends it just ahead of the original: it must draw nothing.
    racing = true;
    const first = client.openStream()!;
    expect(await read(first)).toBe('hi');
    racing = false;
    // The NAT re-maps the client's port: the path follows once the new port echoed a challenge.
    from = after;
    const second = client.openStream()!;
    expect(await read(second)).toBe('hi');
    const server = transport.sessionViews()[0];
    expect(server.pathPeer(0)).toBe(`127.0.0.1:${after.address().port}`);
    expect(server.session.stats!().paths[0].addressMoves).toBe(1);
    expect(racerGot).toBe(0);
  });

  it('never answers garbage or a handshake under another key', async () => {
    const psk = randomBytes(32);
    const transport = await listen(sessionCore(psk).listener(), { onSessionEvent() {} });
    const { port } = transport.addresses[0];
    const probe = await socket();
    const answers: Buffer[] = [];
    probe.on('message', (msg: Buffer) => answers.push(msg));
    const stranger = Session.dial({ now: performance.now(), wallNow: Date.now(), psk: randomBytes(32), pathIds: [0], rng: cryptoRng });
    probe.send(stranger.pollTransmit(performance.now())!.bytes, port, '127.0.0.1');
    for (let i = 0; i < 20; i++) probe.send(randomBytes(1 + i * 60), port, '127.0.0.1');
    // Then a handshake under the right key from the same socket: the listener takes datagrams in
    // order, so once its answer is back, any answer to what came before would be too.
    const honest = Session.dial({ now: performance.now(), wallNow: Date.now(), psk, pathIds: [0], rng: cryptoRng });
    probe.send(honest.pollTransmit(performance.now())!.bytes, port, '127.0.0.1');
    await once(probe, 'message');
    expect(answers).toHaveLength(1);
    honest.handleDatagram(performance.now(), 0, answers[0]);
    expect(honest.isConnected).toBe(true);
    expect(transport.sessionCount).toBe(1);
  });
});
