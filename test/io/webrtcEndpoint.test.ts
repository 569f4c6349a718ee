/**
 * The WebRTC endpoint and path on loopback, without a tunnel core: the endpoint echoes every
 * packet back on the channel it came from, so the tests see exactly what the drivers carry.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HostPort } from '../../src/io/address.ts';
import { WebRtcEndpoint } from '../../src/io/webrtcEndpoint.ts';
import { WebRtcPath } from '../../src/io/webrtcPath.ts';
import { AUTH_HEADER, sealOffer, SIGNAL_PATH, signallingKey } from '../../src/io/webrtcSignal.ts';
import { until } from '../relay/harness.ts';

const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const BACKOFF = { initialMs: 100, maxMs: 400 };

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function echoEndpoint(psk: Uint8Array, port = 0): Promise<WebRtcEndpoint> {
  const endpoint = new WebRtcEndpoint({ listen: { host: '127.0.0.1', port }, psk, receive: (bytes, from) => from.send(bytes), log });
  await endpoint.start();
  closers.push(() => endpoint.close());
  return endpoint;
}

function path(endpoint: HostPort, psk: Uint8Array, received: Buffer[]): WebRtcPath {
  const p = new WebRtcPath({
    endpoint,
    key: signallingKey(psk),
    pathId: 0,
    onMessage: (b) => received.push(Buffer.from(b)),
    log,
    backoff: BACKOFF,
    wallClock: Date.now,
  });
  closers.push(() => p.close());
  return p;
}

/**
 * Starts `p` and waits for its channel. The first try may fail on a busy host (the path keeps
 * trying, which is what it is for); what these tests check comes after the channel is open.
 */
async function opened(p: WebRtcPath): Promise<void> {
  void p.start();
  await until(() => p.isOpen, 15_000, 'the channel to open');
}

/** A raw HTTP request to the endpoint: status, headers and body. */
function request(at: HostPort, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string }) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((ok, fail) => {
    const req = http.request({ hostname: at.host, port: at.port, method: opts.method ?? 'POST', path: opts.path ?? SIGNAL_PATH, headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}

describe('WebRTC signalling endpoint', () => {
  it('answers a wrong key, a replay and anything else with a bare 404 and creates no peer connection', async () => {
    const psk = randomBytes(32);
    const endpoint = await echoEndpoint(psk);
    const at = endpoint.address;
    const wrong = sealOffer(signallingKey(randomBytes(32)), 'v=0', Date.now());
    const right = sealOffer(signallingKey(psk), 'not an SDP at all', Date.now());
    const attempts = [
      { headers: { [AUTH_HEADER]: wrong.auth }, body: wrong.body },
      { body: right.body },
      { method: 'GET', path: '/' },
      { method: 'GET', path: SIGNAL_PATH },
      { path: '/other', headers: { [AUTH_HEADER]: right.auth }, body: right.body },
      { headers: { [AUTH_HEADER]: right.auth }, body: 'x'.repeat(100_000) },
    ];
    for (const a of attempts) {
      const res = await request(at, a);
      expect(res.status).toBe(404);
      expect(res.body).toBe('');
      expect(res.headers['content-length']).toBe('0');
      expect(res.headers.date).toBeUndefined();
      expect(res.headers[AUTH_HEADER]).toBeUndefined();
    }
    expect(endpoint.refused).toBe(attempts.length);
    expect(endpoint.peerCount).toBe(0);
  });

  it('answers an authentic offer once; the same request again is a replay', async () => {
    const psk = randomBytes(32);
    const endpoint = await echoEndpoint(psk);
    // A real offer, made by a path whose channel we do not need here.
    const offer = sealOffer(signallingKey(psk), 'v=0\r\n', Date.now());
    const first = await request(endpoint.address, { headers: { [AUTH_HEADER]: offer.auth }, body: offer.body });
    // libdatachannel refuses this SDP: the offer was authentic, so the answer says busy, not 404.
    expect(first.status).toBe(503);
    const again = await request(endpoint.address, { headers: { [AUTH_HEADER]: offer.auth }, body: offer.body });
    expect(again.status).toBe(404);
    expect(endpoint.peerCount).toBe(0);
  });
});

describe('WebRTC path', () => {
  it('carries packets both ways over the data channel', async () => {
    const psk = randomBytes(32);
    const endpoint = await echoEndpoint(psk);
    const received: Buffer[] = [];
    const p = path(endpoint.address, psk, received);
    await opened(p);
    const sent = Array.from({ length: 50 }, () => randomBytes(1350));
    for (const b of sent) p.send(b);
    await until(() => received.length === sent.length, 5000, 'the echoes');
    // Unordered delivery: compare as sets.
    expect(received.map((b) => b.toString('hex')).sort()).toEqual(sent.map((b) => b.toString('hex')).sort());
  });

  it('is refused by an endpoint with another key, and keeps trying', async () => {
    const endpoint = await echoEndpoint(randomBytes(32));
    const p = path(endpoint.address, randomBytes(32), []);
    expect(await p.start()).toBe(false);
    await until(() => endpoint.refused >= 2, 5000, 'a second try');
    expect(endpoint.peerCount).toBe(0);
  });

  it('sets the channel up again after it is lost', async () => {
    const psk = randomBytes(32);
    let endpoint = await echoEndpoint(psk);
    const port = endpoint.address.port;
    const received: Buffer[] = [];
    const p = path(endpoint.address, psk, received);
    await opened(p);
    // The exit relay goes away: its peer connections close, the channel breaks.
    await endpoint.close();
    await until(() => !p.isOpen, 5000, 'the channel to close');
    p.send(Buffer.from('into the void'));
    // It comes back on the same port; the path finds it by itself.
    endpoint = await echoEndpoint(psk, port);
    await until(() => p.isOpen, 10_000, 'the channel to reopen');
    p.send(Buffer.from('hello again'));
    await until(() => received.length > 0, 5000, 'the echo');
    expect(received.map(String)).toEqual(['hello again']);
  });
});
