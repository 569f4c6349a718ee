/**
 * WebRTC paths as a user runs them: two `bin/bering relay` processes whose only path is
 * `--peer webrtc://...` to `--webrtc-listen`, a transfer through them, and SIGTERM: both exit 0
 * promptly (libdatachannel's threads must not keep a process alive). Also the flags' errors.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { BeringProcess, run, tempDir, writeTemp } from '../cli/run.ts';
import { collect, connect, freePort, Service, sha256 } from './harness.ts';

const procs: BeringProcess[] = [];
let service: Service | undefined;
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  await service?.close();
});

describe('bering relay with a WebRTC path', () => {
  it('carries a transfer over webrtc:// alone, then both relays exit 0 on SIGTERM', async () => {
    const keyFile = writeTemp(tempDir(), 'bering.key', (await run(['keygen'])).stdout);
    service = await Service.start();
    const exit = BeringProcess.start(['relay', '--webrtc-listen', '127.0.0.1:0', '--forward', `127.0.0.1:${service.address.port}`, '--key-file', keyFile]);
    procs.push(exit);
    const { webrtc } = await exit.waitFor('listening for WebRTC peers');
    const tcp = { host: '127.0.0.1', port: await freePort('tcp') };
    const entry = BeringProcess.start(['relay', '--tcp-listen', `127.0.0.1:${tcp.port}`, '--peer', `webrtc://${String(webrtc)}`, '--key-file', keyFile]);
    procs.push(entry);
    await entry.waitFor('session up');
    expect(entry.logs.find((l) => l.msg === 'relay running')).toMatchObject({ peers: [`webrtc://${String(webrtc)}`] });

    const down = randomBytes(4 << 20);
    service.onConnection = (s) => {
      s.resume();
      s.end(down);
    };
    const client = connect(tcp);
    const received = collect(client);
    client.end('get');
    expect(await received).toMatchObject({ bytes: down.length, sha256: sha256(down), ended: true });

    const started = Date.now();
    const [entryCode, exitCode] = await Promise.all([entry.kill('SIGTERM'), exit.kill('SIGTERM')]);
    expect([entryCode, exitCode]).toEqual([0, 0]);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('names the mistake in WebRTC flags', async () => {
    const keyFile = writeTemp(tempDir(), 'bering.key', (await run(['keygen'])).stdout);
    const cases: Array<[string[], RegExp]> = [
      [['--tcp-listen', '127.0.0.1:1', '--peer', 'quic://127.0.0.1:7000'], /--peer: unknown path kind in 'quic:\/\/127.0.0.1:7000'/],
      [['--tcp-listen', '127.0.0.1:1', '--peer', 'webrtc://nowhere'], /--peer: bad address 'nowhere'/],
      [['--tcp-listen', '127.0.0.1:1', '--webrtc-listen', '127.0.0.1:7001', '--peer', '127.0.0.1:7000'], /give either --peer \(dial the other relay\) or --webrtc-listen \(wait for it\), not both/],
      [['--tcp-listen', '127.0.0.1:1', '--peer', 'webrtc://127.0.0.1:7001', '--stun', 'stun.example.net'], /--stun: bad STUN\/TURN server 'stun.example.net'/],
      [['--tcp-listen', '127.0.0.1:1', '--peer', '127.0.0.1:7000', '--stun', 'stun:stun.example.net:3478'], /--stun: STUN servers serve WebRTC paths only/],
    ];
    for (const [args, message] of cases) {
      const r = await run(['relay', ...args, '--key-file', keyFile]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
