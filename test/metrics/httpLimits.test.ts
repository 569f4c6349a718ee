/**
 * The relay's HTTP listeners (here the metrics endpoint; WebRTC signalling uses the same limits)
 * drop a half-sent request within the headers timeout and refuse connections beyond the cap.
 */
import net from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HTTP_HEADERS_TIMEOUT_MS, HTTP_MAX_CONNECTIONS } from '../../src/io/httpLimits.ts';
import { startMetricsServer, type MetricsServer } from '../../src/metrics/server.ts';
import type { RelayStatus } from '../../src/metrics/status.ts';

let server: MetricsServer;
beforeAll(async () => {
  server = await startMetricsServer({
    listen: { host: '127.0.0.1', port: 0 },
    status: () => ({ health: { ok: true, reason: 'test' }, sessions: [] }) as unknown as RelayStatus,
    log: pino({ level: 'silent' }),
  });
});
afterAll(() => server.close());

/** Connects; resolves with when the server closed the socket (ms after connecting), or null by `waitMs`. */
function closedWithin(send: string, waitMs: number): { socket: net.Socket; closedAfter: Promise<number | null> } {
  const socket = net.connect(server.address.port, server.address.host);
  const start = performance.now();
  socket.on('error', () => {});
  // Flowing, so the server's FIN is read and 'close' follows.
  socket.resume();
  socket.on('connect', () => {
    if (send !== '') socket.write(send);
  });
  const closedAfter = new Promise<number | null>((ok) => {
    const timer = setTimeout(() => ok(null), waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      ok(performance.now() - start);
    });
  });
  return { socket, closedAfter };
}

it('closes a connection whose request headers never finish within the headers timeout', async () => {
  const { closedAfter } = closedWithin('GET /metrics HTTP/1.1\r\nHost: x\r\n', HTTP_HEADERS_TIMEOUT_MS + 3000);
  const after = await closedAfter;
  expect(after).not.toBeNull();
  expect(after!).toBeLessThan(HTTP_HEADERS_TIMEOUT_MS + 2000);
});

it('refuses connections beyond the cap, and serves again once they go', async () => {
  const held = Array.from({ length: HTTP_MAX_CONNECTIONS }, () => closedWithin('', 1500));
  await new Promise((ok) => setTimeout(ok, 300));
  const extra = closedWithin('', 1500);
  expect(await extra.closedAfter).not.toBeNull();
  expect(await held[0].closedAfter).toBeNull();
  for (const h of held) h.socket.destroy();
  await new Promise((ok) => setTimeout(ok, 200));
  const res = await fetch(`http://127.0.0.1:${server.address.port}/healthz`);
  expect(res.status).toBe(200);
});
