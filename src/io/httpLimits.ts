/**
 * Limits for the relay's HTTP listeners (metrics, WebRTC signalling), which anyone who can reach
 * the port can talk to. Node's defaults keep an idle or half-sent connection for 30-45 s (its
 * timeouts are checked every 30 s) and accept any number of them.
 */
import type http from 'node:http';

/** Whole request headers must arrive within this long. */
export const HTTP_HEADERS_TIMEOUT_MS = 5_000;
/** A whole request (headers and body) must arrive within this long. */
export const HTTP_REQUEST_TIMEOUT_MS = 10_000;
/** A kept-alive connection with no request in flight is closed after this long. */
export const HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** A connection on which nothing moves at all (no first byte either) is closed after this long. */
export const HTTP_IDLE_TIMEOUT_MS = 10_000;
/** Connections served at once; further ones are closed on arrival. */
export const HTTP_MAX_CONNECTIONS = 64;

/** Options for `http.createServer` that put the timeouts above into force, checked every second. */
export const HTTP_SERVER_OPTIONS: http.ServerOptions = {
  headersTimeout: HTTP_HEADERS_TIMEOUT_MS,
  requestTimeout: HTTP_REQUEST_TIMEOUT_MS,
  keepAliveTimeout: HTTP_KEEP_ALIVE_TIMEOUT_MS,
  connectionsCheckingInterval: 1_000,
};

/** Applies the limits that are not creation options: the idle timeout and the connection cap. */
export function limitHttpServer(server: http.Server, maxConnections = HTTP_MAX_CONNECTIONS): void {
  server.maxConnections = maxConnections;
  // With no 'timeout' listener, Node destroys a socket idle this long.
  server.setTimeout(HTTP_IDLE_TIMEOUT_MS);
}
