import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';

/** A port free on 127.0.0.1 right now (for programs that cannot report the port they bound). */
export async function freePort(kind: 'udp' | 'tcp'): Promise<number> {
  if (kind === 'udp') {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    const port = s.address().port;
    await new Promise<void>((ok) => s.close(() => ok()));
    return port;
  }
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}
