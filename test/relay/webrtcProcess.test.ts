/**
 * WebRTC paths as a user runs them: two `bin/bering relay` processes whose only path is
 * `--peer webrtc://...` to `--webrtc-listen`, a transfer through them, and SIGTERM: both exit 0
 * promptly (libdatachannel's threads must not keep a process alive). Also a flag mistake's error.
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

  // Every WebRTC flag mistake is in webrtcOptions.test.ts, in-process; this one checks the
  // process turns it into the one-line error and status 2.
  it('names a mistake in WebRTC flags in one line, exit status 2', async () => {
    const keyFile = writeTemp(tempDir(), 'bering.key', (await run(['keygen'])).stdout);
    const r = await run(['relay', '--tcp-listen', '127.0.0.1:1', '--peer', 'webrtc://nowhere', '--key-file', keyFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("bering: error: --peer: bad address 'nowhere': expected host:port\n");
  });
});
