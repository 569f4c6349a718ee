/**
 * A handshake flood against a real exit relay during a live transfer: a separate process sends
 * forged inits, replays of one authentic init and garbage Data packets to the exit relay's UDP
 * port, thousands a second, while the entry relay downloads through a 40 Mbit/s path. The
 * transfer keeps at least 90% of its goodput, the flood costs the exit relay bounded CPU, and the
 * flooder gets back nothing but the one answer its authentic init earned, smaller than the init.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { readKeyFile } from '../../src/cli/key.ts';
import { ImpairmentProxy } from '../../src/lab/impairmentProxy.ts';
import { cryptoRng } from '../../src/io/cryptoRng.ts';
import { HandshakeInitiator } from '../../src/wire/handshake.ts';
import { collect, connect, Service } from '../relay/harness.ts';
import { RelayPair } from '../reliability/processes.ts';

const FLOODER = fileURLToPath(new URL('./flooder.ts', import.meta.url));
const RATE = 6000;
const BODY = 6 << 20;

let pair: RelayPair | undefined;
let service: Service | undefined;
let proxy: ImpairmentProxy | undefined;
afterAll(async () => {
  await pair?.stop();
  await service?.close();
  proxy?.close();
});

interface FloodReport {
  sent: { datagrams: number; bytes: number; forged: number; replayed: number; garbage: number };
  received: { datagrams: number; bytes: number; largest: number };
  seconds: number;
}

function flood(port: number, seconds: number, init: Uint8Array): Promise<FloodReport> {
  const child = spawn(process.execPath, ['--import', 'tsx', FLOODER, '127.0.0.1', String(port), String(RATE), String(seconds), Buffer.from(init).toString('hex')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((ok, fail) => child.on('close', (code) => (code === 0 ? ok(JSON.parse(out) as FloodReport) : fail(new Error(`flooder exited ${code}`)))));
}

/** CPU seconds a process has used (user + system), from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const { readFileSync } = await import('node:fs');
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

it('keeps a transfer\'s goodput through a flood of thousands of bogus and replayed handshakes a second', async () => {
  service = await Service.start();
  const body = randomBytes(BODY);
  service.onConnection = (s) => {
    s.resume();
    s.end(body);
  };
  const link = { delayMs: 10, rateMbps: 40, queueMs: 40 };
  pair = await RelayPair.start({
    forward: service.address,
    via: async (exitUdp) => {
      proxy = await ImpairmentProxy.start({ listen: { host: '127.0.0.1', port: 0 }, target: exitUdp, aToB: link, bToA: link, seed: 3 });
      return proxy.address;
    },
  });
  const exitPort = Number(pair.udp[0].split(':')[1]);
  const digest = createHash('sha256').update(body).digest('hex');
  const download = async (): Promise<number> => {
    const client = connect(pair!.tcp);
    const got = collect(client);
    const t = performance.now();
    client.end('go');
    const r = await got;
    expect(r).toMatchObject({ bytes: BODY, sha256: digest, ended: true, error: null });
    return (BODY * 8) / 1e6 / ((performance.now() - t) / 1000);
  };

  await download();
  const before = await download();
  const init = new HandshakeInitiator(readKeyFile(pair.key), 0x0f100d, cryptoRng, Date.now()).packet;
  const exitPid = pair.exit.child.pid!;
  const cpu0 = await cpuSeconds(exitPid);
  const flooding = flood(exitPort, 2.5, init);
  await new Promise((ok) => setTimeout(ok, 500));
  const during = await download();
  const report = await flooding;
  const cpu = (await cpuSeconds(exitPid)) - cpu0;
  const after = await download();
  const baseline = (before + after) / 2;
  console.log(
    `flood: ${report.sent.datagrams} datagrams in ${report.seconds.toFixed(1)} s (${Math.round(report.sent.datagrams / report.seconds)}/s: ` +
      `${report.sent.forged} forged inits, ${report.sent.replayed} replayed, ${report.sent.garbage} garbage); goodput ${during.toFixed(1)} Mbit/s ` +
      `vs ${baseline.toFixed(1)} without; exit relay CPU ${cpu.toFixed(2)} s over the flood; answers ${report.received.datagrams} (${report.received.bytes} bytes)`,
  );
  expect(report.sent.datagrams / report.seconds).toBeGreaterThan(RATE * 0.8);
  expect(during).toBeGreaterThan(baseline * 0.9);
  // The authentic init is answered once; its replays, the forgeries and the garbage never.
  expect(report.received.datagrams).toBe(1);
  expect(report.received.largest).toBeLessThanOrEqual(init.length);
  expect(report.received.bytes).toBeLessThan(report.sent.bytes);
});
