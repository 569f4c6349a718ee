/**
 * The relay's HTTP endpoint (`--metrics H:P`): `/metrics` (Prometheus text format), `/healthz`
 * (200 or 503 with a one-line reason), `/status` (the {@link RelayStatus} snapshot as JSON),
 * `/history` (the last five minutes per path, one point a second) and the dashboard page at `/`
 * that draws the last two. Read-only and unauthenticated: bind it to loopback or a private address.
 * Short timeouts and a connection cap (io/httpLimits.ts) keep idle or half-sent connections from
 * piling up.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { HostPort } from '../io/address.ts';
import { HTTP_SERVER_OPTIONS, limitHttpServer } from '../io/httpLimits.ts';
import { describeSocketError, ListenError } from '../io/udpSocket.ts';
import { DASHBOARD_CSP, dashboardAssets } from './dashboard.ts';
import { StatusHistory } from './history.ts';
import { createRelayMetrics } from './registry.ts';
import type { RelayStatus } from './status.ts';

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The bound address (useful when the port was 0). */
  readonly address: HostPort;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  listen: HostPort;
  /**
   * Takes a snapshot of the relay; called once per request. A relay whose sessions run in worker
   * threads gathers theirs first, hence the promise.
   */
  status: () => RelayStatus | Promise<RelayStatus>;
  log: Logger;
}

/** Starts serving; rejects with a `ListenError` when the address cannot be used. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const metrics = createRelayMetrics(opts.status);
  const assets = dashboardAssets();
  const history = new StatusHistory();
  // One point a second whether or not anyone looks, so the page opens on the last few minutes.
  const sample = (): void => {
    Promise.resolve(opts.status()).then(
      (status) => history.record(status, Date.now()),
      (err: unknown) => opts.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'status sample failed'),
    );
  };
  const sampler = setInterval(sample, 1000);
  sampler.unref();
  sample();
  const server = http.createServer(HTTP_SERVER_OPTIONS, (req, res) => {
    const reply = (code: number, type: string, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const text = 'text/plain; charset=utf-8';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      reply(405, text, 'method not allowed\n');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://relay').pathname;
    switch (path) {
      case '/metrics':
        metrics.scrape().then(
          (body) => reply(200, metrics.registry.contentType, body),
          (err: unknown) => {
            opts.log.error({ err: err instanceof Error ? err.message : String(err) }, 'metrics scrape failed');
            reply(500, text, 'scrape failed\n');
          },
        );
        return;
      case '/healthz':
      case '/status':
        Promise.resolve(opts.status()).then(
          (status) => {
            if (path === '/status') {
              reply(200, 'application/json', `${JSON.stringify(status, null, 2)}\n`);
              return;
            }
            const { ok, reason } = status.health;
            reply(ok ? 200 : 503, text, `${ok ? 'ok' : 'unavailable'}: ${reason}\n`);
          },
          (err: unknown) => {
            opts.log.error({ err: err instanceof Error ? err.message : String(err) }, 'status snapshot failed');
            reply(500, text, 'status snapshot failed\n');
          },
        );
        return;
      case '/history':
        reply(200, 'application/json', JSON.stringify(history.list()));
        return;
      default: {
        const asset = assets.get(path);
        if (asset !== undefined) reply(200, asset.type, asset.body, { 'content-security-policy': DASHBOARD_CSP });
        else reply(404, text, 'not found; try / (the dashboard), /metrics, /healthz or /status\n');
      }
    }
  });
  limitHttpServer(server);
  await new Promise<void>((ok, fail) => {
    server.once('error', (err) => {
      clearInterval(sampler);
      const { code, detail } = describeSocketError(err);
      fail(new ListenError('tcp', opts.listen, code, detail));
    });
    server.listen({ host: opts.listen.host, port: opts.listen.port }, () => ok());
  });
  server.on('error', (err) => opts.log.error({ err: err.message }, 'metrics server error'));
  const bound = server.address() as AddressInfo;
  return {
    address: { host: bound.address, port: bound.port },
    async close(): Promise<void> {
      clearInterval(sampler);
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      // Scrapers keep connections alive; they would hold close() open until they time out.
      server.closeAllConnections();
      await closed;
    },
  };
}
