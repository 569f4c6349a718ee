/**
 * A long live stream through two real relays on loopback, crossing the session's key updates (one
 * each way every 120 s by default): the service sends `--mbps` of stamped 16 KiB chunks for
 * `--minutes` to a viewer on the entry relay. Every chunk must arrive intact and in order; an
 * update that stalled the tunnel would show as a late chunk in the minute it happened. Prints a
 * line per minute (so a cut-short run still says something) and a summary: chunks, p50/p99/max
 * delay, the worst chunk per minute, the key updates each relay counted (from /status, polled
 * every 5 s) and the worst chunk sent from 7 s before to 5 s after each update was seen. The machine's
 * load average is printed per minute: on a shared host, a late chunk in a minute without an
 * update and under load is the scheduler's, not the tunnel's.
 *
 * `--log-dir DIR` keeps each relay's whole log (exit.log, entry.log); with RELAY_LOG_LEVEL=debug it
 * holds the path model every second, which is what a stall is diagnosed from.
 *
 *   nice -n 10 npx tsx bench/rekeyStream.ts [--mbps 20] [--minutes 20] [--late-ms 50] [--log-dir DIR]
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopChild } from '../src/lab/children.ts';
import { freePort } from '../src/lab/freePort.ts';
import type { RelayStatus, SessionFigures } from '../src/metrics/status.ts';
import { startBeringPair } from './ceiling.ts';
import { chunkCount, percentile, receiveStream, sendStream, type ChunkArrival } from './liveProbe.ts';
import { peakRssBytes } from './procStats.ts';

type KeyUpdates = SessionFigures['keyUpdates'];

/** The key updates of the relay's first session, as its /status shows them. */
async function keyUpdates(metricsPort: number): Promise<KeyUpdates | null> {
  const status = (await (await fetch(`http://127.0.0.1:${metricsPort}/status`)).json()) as RelayStatus;
  return status.sessions[0]?.figures?.keyUpdates ?? null;
}

/** A key update seen at `at` (ms since the stream started) on `relay`'s sending or receiving side. */
interface UpdateSeen {
  at: number;
  relay: 'exit' | 'entry';
  direction: 'sent' | 'received';
}

const fmt = (k: KeyUpdates | null): string => (k === null ? 'no session' : `${k.sent} sent/${k.received} received`);

/** Collects the relay's warn and error log lines (pino levels 40 and up). */
function watchLog(child: ChildProcess): { warnings: string[] } {
  const out = { warnings: [] as string[] };
  let partial = '';
  child.stderr!.on('data', (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (/"level":(4|5|6)\d/.test(l)) out.warnings.push(l);
  });
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mbps: { type: 'string', default: '20' },
      minutes: { type: 'string', default: '20' },
      'late-ms': { type: 'string', default: '50' },
      'log-dir': { type: 'string' },
    },
  });
  const mbps = Number(values.mbps);
  const seconds = Number(values.minutes) * 60;
  const lateMs = Number(values['late-ms']);
  const expected = chunkCount(mbps, seconds);

  const service = net.createServer((s) => {
    s.on('error', () => undefined);
    sendStream(s, mbps, seconds);
  });
  await new Promise<void>((ok) => service.listen(0, '127.0.0.1', ok));
  const [exitMetrics, entryMetrics] = [await freePort('tcp'), await freePort('tcp')];
  const pair = await startBeringPair((service.address() as net.AddressInfo).port, undefined, [], ['--metrics', `127.0.0.1:${exitMetrics}`], ['--metrics', `127.0.0.1:${entryMetrics}`]);
  const logs = [watchLog(pair.exit), watchLog(pair.entry)];
  if (values['log-dir'] !== undefined) {
    mkdirSync(values['log-dir'], { recursive: true });
    pair.exit.stderr!.pipe(createWriteStream(join(values['log-dir'], 'exit.log')));
    pair.entry.stderr!.pipe(createWriteStream(join(values['log-dir'], 'entry.log')));
  }
  const arrivals: ChunkArrival[] = [];
  const worstPerMinute: number[] = [];
  try {
    const viewer = net.connect(pair.entryPort, '127.0.0.1');
    viewer.setNoDelay(true);
    viewer.on('error', () => undefined);
    await new Promise((ok) => viewer.once('connect', ok));
    const t0 = performance.now();
    console.log(`${mbps} Mbit/s for ${values.minutes} min: ${expected} chunks of 16 KiB; a line per minute`);
    const updates: UpdateSeen[] = [];
    const last: Record<'exit' | 'entry', KeyUpdates> = { exit: { sent: 0, received: 0 }, entry: { sent: 0, received: 0 } };
    const poll = setInterval(() => {
      for (const [relay, port] of [['exit', exitMetrics], ['entry', entryMetrics]] as const) {
        keyUpdates(port)
          .then((k) => {
            if (k === null) return;
            const at = performance.now() - t0;
            for (const direction of ['sent', 'received'] as const) {
              for (let n = last[relay][direction]; n < k[direction]; n++) updates.push({ at, relay, direction });
            }
            last[relay] = k;
          })
          .catch(() => undefined);
      }
    }, 5000);
    let seen = 0;
    const progress = setInterval(() => {
      const fresh = arrivals.slice(seen);
      seen = arrivals.length;
      const worst = fresh.reduce((m, a) => Math.max(m, a.delay), 0);
      worstPerMinute.push(worst);
      const minute = Math.round((performance.now() - t0) / 60_000);
      void Promise.all([keyUpdates(exitMetrics), keyUpdates(entryMetrics)])
        .then(([x, e]) => {
          const rss = [pair.exit.pid!, pair.entry.pid!].map((p) => ((peakRssBytes(p) ?? 0) / 2 ** 20).toFixed(0));
          console.log(
            `min ${String(minute).padStart(2)}: ${seen}/${expected} chunks, this minute ${fresh.length}, worst ${worst.toFixed(1)} ms; key updates exit ${fmt(x)}, entry ${fmt(e)}; peak RSS exit/entry ${rss.join('/')} MB; load ${loadavg()[0].toFixed(1)}`,
          );
        })
        .catch((err: Error) => console.log(`min ${minute}: /status failed: ${err.message}`));
    }, 60_000);
    await receiveStream(viewer, arrivals);
    clearInterval(progress);
    clearInterval(poll);
    const tail = arrivals.slice(seen);
    if (tail.length > 0) worstPerMinute.push(tail.reduce((m, a) => Math.max(m, a.delay), 0));
    const [x, e] = await Promise.all([keyUpdates(exitMetrics), keyUpdates(entryMetrics)]);
    viewer.destroy();

    const outOfOrder = arrivals.filter((a, i) => a.seq !== i).length;
    const damaged = arrivals.filter((a) => !a.intact).length;
    const sorted = arrivals.map((a) => a.delay).sort((a, b) => a - b);
    const late = arrivals.filter((a) => a.delay > lateMs).length;
    console.log('--- summary');
    console.log(`chunks sent ${expected}, received ${arrivals.length}, out of order ${outOfOrder}, damaged ${damaged}`);
    console.log(`delay p50 ${percentile(sorted, 0.5).toFixed(1)} p99 ${percentile(sorted, 0.99).toFixed(1)} max ${(sorted[sorted.length - 1] ?? NaN).toFixed(1)} ms; over ${lateMs} ms: ${late}`);
    console.log(`worst chunk per minute (ms): ${worstPerMinute.map((w) => w.toFixed(0)).join(', ')}`);
    console.log(`key updates: exit relay ${fmt(x)}; entry relay ${fmt(e)}`);
    // A chunk's send time is its arrival minus its delay; updates are seen within 5 s of happening.
    const sentAt = (a: ChunkArrival): number => a.at - a.delay - t0;
    // One line per poll that saw updates (both relays, both directions usually turn together).
    const byPoll = new Map<number, UpdateSeen[]>();
    for (const u of updates) byPoll.set(Math.round(u.at / 5000), [...(byPoll.get(Math.round(u.at / 5000)) ?? []), u]);
    for (const seenTogether of byPoll.values()) {
      const at = seenTogether[0].at;
      const near = arrivals.filter((a) => sentAt(a) >= at - 7000 && sentAt(a) <= at + 5000);
      const worst = near.reduce((m, a) => Math.max(m, a.delay), 0);
      const who = seenTogether.map((u) => `${u.relay} ${u.direction}`).join(', ');
      console.log(`  by ${(at / 1000).toFixed(0)} s (${who}): worst chunk sent from 7 s before to 5 s after ${worst.toFixed(1)} ms (${near.length} chunks)`);
    }
    const worstFive = [...arrivals].sort((a, b) => b.delay - a.delay).slice(0, 5);
    console.log(`worst chunks: ${worstFive.map((a) => `${a.delay.toFixed(0)} ms sent at ${(sentAt(a) / 1000).toFixed(1)} s`).join('; ')}`);
    console.log(`relay warn/error log lines: exit ${logs[0].warnings.length}, entry ${logs[1].warnings.length}`);
    for (const w of [...logs[0].warnings, ...logs[1].warnings].slice(-5)) console.log(`  ${w}`);
    const ok = arrivals.length === expected && outOfOrder === 0 && damaged === 0 && late === 0;
    console.log(ok ? 'PASS: every chunk intact, in order, none late' : 'FAIL');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await Promise.all([stopChild(pair.entry), stopChild(pair.exit)]);
    service.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
