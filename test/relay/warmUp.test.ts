/**
 * The relay's start-up warm-up: a relay pair of the process's own on loopback sockets, then (if
 * its budget ran out) an in-memory session pair, each of which must really carry its streams both
 * ways (a warm-up that stalls would warm nothing); it runs before the relay opens its ports, and
 * the in-memory part gives way to real streams.
 */
import { describe, expect, it } from 'vitest';
import { loadFec } from '../../src/fec/index.ts';
import { warmUpThroughSockets } from '../../src/relay/socketWarmUp.ts';
import { WARM_UP_BYTES, WarmUp, warmUpInBackground } from '../../src/relay/warmUp.ts';
import { BeringProcess, run, tempDir, writeTemp } from '../cli/run.ts';
import { freePort, until } from './harness.ts';

const fec = loadFec();

describe('warm-up', () => {
  it('carries its bytes both ways to the end, a slice at a time', () => {
    const warm = new WarmUp(fec);
    let clock = 0;
    let steps = 0;
    // A clock that advances a millisecond per reading: every slice ends after a few ticks.
    while (!warm.done && steps < 1_000_000) {
      warm.step(() => clock++, 4);
      steps++;
    }
    expect(warm.done).toBe(true);
    expect(warm.delivered).toBeGreaterThanOrEqual(2 * WARM_UP_BYTES);
    expect(steps).toBeGreaterThan(100);
  });

  it('pauses while a real stream is open, and finishes once the relay is idle again', async () => {
    const warm = new WarmUp(fec);
    let busy = false;
    const finished = warmUpInBackground(warm, () => busy);
    await until(() => warm.delivered > 0, 10_000, 'the warm-up\'s first bytes');
    busy = true;
    // A slice under way when the stream opened may still finish.
    await new Promise((r) => setTimeout(r, 20));
    const atPause = warm.delivered;
    await new Promise((r) => setTimeout(r, 300));
    expect(warm.delivered).toBe(atPause);
    expect(warm.done).toBe(false);
    busy = false;
    expect(await finished).toBeGreaterThanOrEqual(2 * WARM_UP_BYTES);
    expect(warm.done).toBe(true);
  });

  it('carries its bytes both ways through a relay pair on loopback sockets, and stops it', async () => {
    const bytes = 2 << 20;
    // UDP sockets of this process: the relays' paths. (Other files of this worker may still be
    // closing TCP connections and timers, and an HTTP client keeps its own alive.)
    const udpSockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    const before = udpSockets();
    expect(await warmUpThroughSockets(fec, bytes, 20_000)).toBe(2 * bytes);
    // Both relays are stopped: no path of theirs is left open.
    await until(() => udpSockets() <= before, 5_000, `the warm-up relays to close (${process.getActiveResourcesInfo().join(', ')})`);
  });

  it('gives up on its budget with what came through, without throwing', async () => {
    const started = performance.now();
    const gib = 2 ** 30;
    // 1.5 s: long enough for the first bytes on a busy host (a 300 ms budget once saw none while
    // the whole suite ran beside a spinning core), far too short for 2 GiB.
    const moved = await warmUpThroughSockets(fec, gib, 1500);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(2 * gib);
    expect(performance.now() - started).toBeLessThan(6_000);
  });

  it('runs in a real relay before its ports open, so the first client meets a warm data path', async () => {
    const keyFile = writeTemp(tempDir(), 'bering.key', (await run(['keygen'])).stdout);
    const exit = BeringProcess.start(['relay', '--udp-listen', `127.0.0.1:${await freePort('udp')}`, '--forward', '127.0.0.1:9', '--key-file', keyFile], {
      BERING_WARM_UP: '1',
      LOG_LEVEL: 'debug',
    });
    try {
      await exit.waitFor('listening for peers');
      const lines = exit.logs.map((l) => l.msg);
      const warmed = lines.indexOf('data path warmed up before listening');
      expect(warmed, exit.stderr).toBeGreaterThanOrEqual(0);
      expect(warmed).toBeLessThan(lines.indexOf('listening for peers'));
      expect(exit.logs[warmed].bytes).toBeGreaterThan(0);
    } finally {
      await exit.kill('SIGKILL');
    }
  });
});
