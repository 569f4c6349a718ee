/**
 * The relay's start-up warm-up: an in-memory session pair that must really carry its streams both
 * ways (a warm-up that stalls would warm nothing), that runs before the relay opens its ports, and
 * that gives way to real streams.
 */
import { describe, expect, it } from 'vitest';
import { loadFec } from '../../src/fec/index.ts';
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
