/**
 * kcptun under test (Debian's `kcptun` package): `kcptun-client` takes the viewer's TCP and
 * carries it over KCP/UDP through the same impairment proxy bering gets, to `kcptun-server`,
 * which connects to the service endpoint.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { ImpairmentProxy } from '../src/lab/impairmentProxy.ts';
import { pathSeed } from './beringHarness.ts';
import { spawnChild } from '../src/lab/children.ts';
import { freePort } from '../src/lab/freePort.ts';
import { startUdpSystem, waitForLine, type Harness } from './harness.ts';
import type { PathSpec } from './scenarios.ts';

export const KCPTUN_CLIENT = 'kcptun-client';
export const KCPTUN_SERVER = 'kcptun-server';

/**
 * The settings both ends run with: the fast3 profile with 2048-packet windows each way (the
 * usual advice for long fat paths), kcptun's default FEC (10 data + 3 parity shards), AES, and no
 * compression (the payload is random, so compression would only burn CPU).
 */
export const KCPTUN_FLAGS = ['--mode', 'fast3', '--sndwnd', '2048', '--rcvwnd', '2048', '--crypt', 'aes', '--datashard', '10', '--parityshard', '3', '--nocomp', '--quiet'];

/** Starts kcptun over `path`; resolves once the client accepts TCP. */
export function startKcptun(opts: { path: PathSpec; seed: number }): Promise<Harness> {
  return startUdpSystem(async ({ servicePort, helpers, started }) => {
    const env = { ...process.env, KCPTUN_KEY: randomBytes(16).toString('hex') };

    const serverPort = await freePort('udp');
    const server = spawnChild(KCPTUN_SERVER, ['--listen', `127.0.0.1:${serverPort}`, '--target', `127.0.0.1:${servicePort}`, ...KCPTUN_FLAGS], { env });
    const serverReady = waitForLine(server, 'kcptun-server', (line) => (line.includes('listening on') ? true : undefined));
    helpers.add('kcptun-server', server);
    await serverReady;

    const proxy = await ImpairmentProxy.start({
      listen: { host: '127.0.0.1', port: 0 },
      target: { host: '127.0.0.1', port: serverPort },
      ...opts.path,
      seed: pathSeed(opts.seed, 0),
    });
    started.push(proxy);

    const clientPort = await freePort('tcp');
    const client = helpers.add(
      'kcptun-client',
      spawnChild(KCPTUN_CLIENT, ['--localaddr', `127.0.0.1:${clientPort}`, '--remoteaddr', `127.0.0.1:${proxy.address.port}`, ...KCPTUN_FLAGS], { env }),
    );
    await waitForTcp(client, clientPort);
    return { target: { host: '127.0.0.1', port: clientPort }, relays: { entry: client, exit: server }, paths: [proxy] };
  });
}

/** Polls until something accepts TCP on 127.0.0.1:`port` (kcptun logs nothing reliable for it). */
async function waitForTcp(child: ChildProcess, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        done(true);
      });
      s.once('error', () => done(false));
    });
    if (ok) return;
    if (child.exitCode !== null) throw new Error(`kcptun-client exited (${child.exitCode})`);
    if (Date.now() > deadline) throw new Error(`kcptun-client not accepting on port ${port} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
