/**
 * Load: 1,000 TCP connections through a pair of real relay processes at once, sizes mixed like
 * web and video traffic, every byte echoed back and checked; neither relay's peak RSS may reach
 * 200 MB.
 */
import { createHash, randomBytes } from 'node:crypto';
import type net from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { SeededRng } from '../../src/base/rng.ts';
import { collect, connect, Service, until } from '../relay/harness.ts';
import { memoryOf, RelayPair } from './processes.ts';

const STREAMS = 1000;

let pair: RelayPair | undefined;
let service: Service | undefined;
afterAll(async () => {
  await pair?.stop();
  await service?.close();
});

/** 70% up to 8 KB, 25% up to 64 KB, 5% up to 512 KB: about 27 MB in all. */
function sizes(seed: number): number[] {
  const rng = new SeededRng(seed);
  return Array.from({ length: STREAMS }, () => {
    const r = rng.next();
    const max = r < 0.7 ? 8 << 10 : r < 0.95 ? 64 << 10 : 512 << 10;
    return 1 + Math.floor(rng.next() * max);
  });
}

it('carries 1,000 concurrent streams of mixed sizes intact within 200 MB per relay', async () => {
  service = await Service.start();
  // Hold every echo until all 1,000 connections have arrived, so all are open at the same time.
  const held: net.Socket[] = [];
  let peakOpen = 0;
  let open = 0;
  service.onConnection = (s) => {
    open++;
    peakOpen = Math.max(peakOpen, open);
    s.on('close', () => open--);
    s.pause();
    held.push(s);
    if (held.length === STREAMS) for (const h of held) h.pipe(h);
  };
  // Every connection comes from 127.0.0.1: lift the per-address cap (default 64) above them.
  pair = await RelayPair.start({ forward: service.address, paths: 2, entryArgs: ['--max-conns-per-ip', String(STREAMS)] });
  const lengths = sizes(1000);
  const started = performance.now();
  const results = await Promise.all(
    lengths.map(async (n) => {
      const payload = randomBytes(n);
      const client = connect(pair!.tcp);
      const got = collect(client);
      client.end(payload);
      const r = await got;
      return { ok: r.ended && r.error === null && r.bytes === n && r.sha256 === createHash('sha256').update(payload).digest('hex'), r };
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const memory = { entry: memoryOf(pair.entry.child.pid!), exit: memoryOf(pair.exit.child.pid!) };
  const total = lengths.reduce((a, b) => a + b, 0);
  console.log(
    `load: ${STREAMS} streams, ${(total / 1048576).toFixed(1)} MiB each way in ${seconds.toFixed(1)} s; ` +
      `peak RSS entry ${(memory.entry.peak / 1048576).toFixed(0)} MiB, exit ${(memory.exit.peak / 1048576).toFixed(0)} MiB`,
  );
  const bad = results.filter((x) => !x.ok);
  expect(bad.map((x) => x.r).slice(0, 3)).toEqual([]);
  expect(peakOpen).toBe(STREAMS);
  expect(memory.entry.peak).toBeLessThan(200 * 1048576);
  expect(memory.exit.peak).toBeLessThan(200 * 1048576);
  // The relays log each stream's end as it is settled on both sides, a moment after the echo.
  const closedLines = () => pair!.exit.logs.filter((l) => l.msg === 'stream closed');
  await until(() => closedLines().length === STREAMS, 5000, 'every stream to be logged as closed');
  expect(closedLines().every((l) => l.outcome === 'finished')).toBe(true);
});
