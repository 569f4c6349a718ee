/**
 * Test helpers: a TCP "service" whose behaviour each test sets, TCP clients, and byte collectors
 * that hash what they receive.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { HostPort } from '../../src/io/address.ts';

/** What a socket delivered before it closed. */
export interface Received {
  bytes: number;
  sha256: string;
  /** True when the peer's FIN arrived (a clean end), false on reset or error. */
  ended: boolean;
  error: string | null;
}

/** Reads `socket` to its close, hashing everything. */
export function collect(socket: net.Socket): Promise<Received> {
  const hash = createHash('sha256');
  let bytes = 0;
  let ended = false;
  let error: string | null = null;
  socket.on('data', (b: Buffer) => {
    bytes += b.length;
    hash.update(b);
  });
  socket.on('end', () => {
    ended = true;
  });
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message;
  });
  return new Promise((ok) => socket.on('close', () => ok({ bytes, sha256: hash.digest('hex'), ended, error })));
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A TCP service on loopback; `onConnection` can be swapped by each test. */
export class Service {
  onConnection: (socket: net.Socket) => void = (s) => s.pipe(s);
  readonly connections: net.Socket[] = [];
  private constructor(private readonly server: net.Server) {}

  static async start(): Promise<Service> {
    const server = net.createServer({ allowHalfOpen: true });
    const svc = new Service(server);
    server.on('connection', (s) => {
      // Resets are expected in these tests; `collect` records them where a test cares.
      s.on('error', () => {});
      svc.connections.push(s);
      svc.onConnection(s);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    return svc;
  }

  get address(): HostPort {
    const a = this.server.address() as net.AddressInfo;
    return { host: '127.0.0.1', port: a.port };
  }

  async close(): Promise<void> {
    for (const s of this.connections) s.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}

/**
 * One connection through an entry relay at `entry` to `service`: the client sends `up` and
 * half-closes, the service answers `down` at once; resolves with what each side received.
 */
export async function exchange(entry: HostPort, service: Service, up: Uint8Array, down: Uint8Array): Promise<{ atService: Received; atClient: Received }> {
  const atService = new Promise<Received>((ok) => {
    service.onConnection = (s) => {
      void collect(s).then(ok);
      s.end(down);
    };
  });
  const client = connect(entry);
  const atClient = collect(client);
  client.end(up);
  const [s, c] = await Promise.all([atService, atClient]);
  return { atService: s, atClient: c };
}

/** Connects a client with half-close enabled. */
export function connect(addr: HostPort): net.Socket {
  const s = net.connect({ host: addr.host, port: addr.port, allowHalfOpen: true });
  s.on('error', () => {});
  return s;
}

/** Resolves once `predicate` holds, polling every 10 ms; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export { freePort } from '../../src/lab/freePort.ts';
