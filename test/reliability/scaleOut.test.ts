/**
 * The scale-out recipe of the README ("More viewers than one relay pair carries"): independent
 * relay pairs, each with its own key, behind a plain TCP balancer that spreads connections over
 * the entry relays. No state is shared between pairs, so any connection may land on any of them.
 * The balancer here is the least one can be (round-robin, no health checks); HAProxy or nginx
 * `stream` do the same with checks.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Service, until } from '../relay/harness.ts';
import { exchange, RelayPair } from './processes.ts';

const pairs: RelayPair[] = [];
const closers: Array<() => void> = [];
afterAll(async () => {
  for (const close of closers) close();
  await Promise.all(pairs.map((p) => p.stop()));
});

/** A round-robin TCP balancer over `targets`, passing half-closes through. */
async function balancer(targets: ReadonlyArray<{ host: string; port: number }>): Promise<{ host: string; port: number }> {
  let next = 0;
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const target = targets[next++ % targets.length];
    const upstream = net.connect({ ...target, allowHalfOpen: true });
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  closers.push(() => server.close());
  return { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
}

describe('several relay pairs behind a TCP balancer', () => {
  it('carries every connection intact, each pair its share, with nothing shared between the pairs', async () => {
    const service = await Service.start();
    closers.push(() => service.close());
    for (let i = 0; i < 2; i++) pairs.push(await RelayPair.start({ forward: service.address }));
    expect(pairs[0].key).not.toBe(pairs[1].key);
    const front = await balancer(pairs.map((p) => p.tcp));

    const payloads = Array.from({ length: 8 }, () => randomBytes(256 * 1024));
    const results = await Promise.all(payloads.map((p) => exchange(front, p, 20_000)));
    results.forEach((r, i) => {
      expect(r, `connection ${i}`).toMatchObject({ bytes: payloads[i].length, sha256: createHash('sha256').update(payloads[i]).digest('hex'), ended: true, error: null });
    });
    // Each exit relay logs every stream it carried once it is over; the line may come after the close.
    const carried = () => pairs.map((p) => p.exit.logs.filter((l) => l.msg === 'stream closed' && l.outcome === 'finished').length);
    await until(() => carried()[0] + carried()[1] >= 8, 2000, 'both exit relays to log their streams').catch(() => {});
    expect(carried()).toEqual([4, 4]);
  });
});
