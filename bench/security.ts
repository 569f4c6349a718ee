/**
 * The long replay race and malicious-peer suite of issue 14 (the short ones are in `npm test`):
 *
 *   NODE_OPTIONS=--expose-gc npx tsx bench/security.ts [--seeds 5] [--seed 1409] [--mb 60]
 *     [--mbps 100] [--loss 0.03] [--copies 4] [--scale 10]
 *
 * Replay race (test/security/replayRace.ts), once per seed: `--mb` MB down a trans-Pacific path
 * of `--mbps` and `--loss`, clean, then with an observer racing `--copies` copies of every dialer
 * packet ahead of it from its own address (plus late, bit-flipped and garbage copies), from 0.5 s
 * on and from the very first packet. Prints what the listener sent the observer and the goodput
 * against the clean run.
 *
 * Malicious peer (test/security/maliciousPeer.ts): each attack `--scale` times the short suite's
 * size beside an honest transfer `--scale` times as long, and the honest transfer alone. Prints
 * why the attacker's session was closed, the slowest datagram's CPU time, heap and RSS growth,
 * and the honest transfer's state and goodput against running alone.
 *
 * Handshake flood (test/security/flood.ts), real relays on loopback: a download through a
 * 40 Mbit/s link while a separate process floods the exit relay with forged inits, replays of an
 * authentic one and garbage, 6,000 a second. Prints the goodput against downloads before and
 * after the flood, the exit relay's CPU over it and what the flooder got back.
 *
 * Exits 1 if a byte went to a racing observer, a goodput fell under 90% of its clean run (or,
 * under the flood, of the downloads without it), a transfer was not byte-exact, an attack that
 * should close its session did not, more than the odd datagram a garbage collection lands on took
 * 50 ms of CPU (or any took 250 ms), the process grew by 200 MB,
 * the flooder sent under 80% of its rate or got more than the one answer, or one larger than
 * the init. The same seeds reproduce the same simulated runs.
 */
import { ATTACKS, attackRun, LONGEST_CALL_BOUND_MS, MAX_SLOW_CALLS, SLOW_CALL_MS, type Attack } from '../test/security/maliciousPeer.ts';
import { raceRun, type RaceRun } from '../test/security/replayRace.ts';
import { FLOOD_RATE, floodRun } from '../test/security/flood.ts';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number >= 0, got ${process.argv[at + 1]}`);
  return value;
}

const seeds = option('seeds', 5);
const firstSeed = option('seed', 1409);
const downBytes = option('mb', 60) * 1e6;
const rateMbps = option('mbps', 100);
const lossRate = option('loss', 0.03);
const racedCopies = option('copies', 4);
const scale = option('scale', 10);
const failures: string[] = [];
const goodput = (r: RaceRun): number => (r.bytesExpected * 8) / r.finishedAt / 1000;
const intact = (verified: number, expected: number, problem: string | null): string =>
  problem !== null ? problem : verified === expected ? 'byte-exact' : `${verified} of ${expected} bytes`;

console.log(`replay race: seeds ${firstSeed}..${firstSeed + seeds - 1}, ${downBytes / 1e6} MB down ${rateMbps} Mbit/s, 180 ms RTT, ${lossRate * 100}% loss, ${racedCopies} raced copies per packet`);
console.log('seed   race from  injected  to attacker (pkts/bytes)  goodput Mbit/s (clean)  ratio  transfer');
let injected = 0;
let toAttackerBytes = 0;
let worstRatio = Infinity;
for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
  const base = { seed, downBytes, rateMbps, lossRate };
  const clean = raceRun(base);
  if (clean.problem !== null || clean.bytesVerified !== clean.bytesExpected) failures.push(`seed ${seed} clean: ${intact(clean.bytesVerified, clean.bytesExpected, clean.problem)}`);
  for (const raceFrom of [500, 0]) {
    const r = raceRun({ ...base, raceFrom, racedCopies });
    const ratio = goodput(r) / goodput(clean);
    const state = intact(r.bytesVerified, r.bytesExpected, r.problem);
    console.log(
      `${String(seed).padEnd(6)} ${`${raceFrom} ms`.padStart(9)}  ${String(r.injected).padStart(8)}  ${`${r.toAttacker.packets}/${r.toAttacker.bytes}`.padStart(24)}  ${`${goodput(r).toFixed(1)} (${goodput(clean).toFixed(1)})`.padStart(22)}  ${ratio.toFixed(2).padStart(5)}  ${state}`,
    );
    injected += r.injected;
    if (state !== 'byte-exact') failures.push(`seed ${seed} race from ${raceFrom} ms: ${state}`);
    if (ratio < 0.9) failures.push(`seed ${seed} race from ${raceFrom} ms: goodput ratio ${ratio.toFixed(2)}`);
    // Raced from 0.5 s, nothing at all; raced from the first packet, the copy is only challenged (at most 3x what it sent).
    if (raceFrom > 0) {
      toAttackerBytes += r.toAttacker.bytes;
      worstRatio = Math.min(worstRatio, ratio);
      if (r.toAttacker.bytes > 0) failures.push(`seed ${seed}: ${r.toAttacker.bytes} bytes to the observer`);
    } else if (r.toAttacker.bytes >= 3 * 1350) failures.push(`seed ${seed} race from 0: ${r.toAttacker.bytes} bytes to the observer`);
  }
}
console.log(`replay race total: ${injected} hostile datagrams, ${toAttackerBytes} bytes to the observer when racing from 0.5 s, worst goodput ratio ${worstRatio.toFixed(2)}`);

const honestBytes = 2_000_000 * scale;
console.log(`\nmalicious peer: each attack x${scale}, beside a ${honestBytes / 1e6} MB honest transfer on a 50 Mbit/s, 40 ms RTT link (seed ${firstSeed})`);
const attacks: Array<[string, Attack, boolean]> = [
  ['none (honest transfer alone)', () => [], false],
  [`stream-id leaps x${4096 * scale}`, ATTACKS.leaps(4096 * scale), true],
  [`descending 1-byte fragments x${100_000 * scale}`, ATTACKS.descending(100_000 * scale), true],
  [`ascending unread fragments x${300_000 * scale}`, ATTACKS.ascending(300_000 * scale), false],
  [`gapped fragments on 8 streams x${2_000_000 * scale}`, ATTACKS.gapped(2_000_000 * scale), true],
  ['RESET_STREAM below bytes received', ATTACKS.resetBelow(), true],
  ['RESET_STREAM beyond the window', ATTACKS.resetBeyond(), true],
];
let alone = 0;
for (const [name, attack, closes] of attacks) {
  const o = attackRun(attack, { seed: firstSeed, honestBytes });
  alone ||= o.honestFinishedAt;
  const state = intact(o.honestVerified, o.honestExpected, o.honestProblem);
  console.log(`${name}:`);
  console.log(`  ${o.packetsSent} packets, closed: ${o.reason ?? 'no'}`);
  console.log(
    `  slowest datagram ${o.longestCallMs.toFixed(2)} ms CPU, ${o.slowCalls} over ${SLOW_CALL_MS} ms; peak streams ${o.maxStreams}; heap +${o.heapGrowthMb.toFixed(1)} MiB, RSS +${o.rssGrowthMb.toFixed(1)} MiB; honest transfer ${state}, goodput ratio ${(alone / o.honestFinishedAt).toFixed(2)}`,
  );
  if (closes && o.reason === null) failures.push(`${name}: session not closed`);
  if (o.slowCalls > MAX_SLOW_CALLS) failures.push(`${name}: ${o.slowCalls} datagrams took over ${SLOW_CALL_MS} ms each`);
  if (o.longestCallMs >= LONGEST_CALL_BOUND_MS) failures.push(`${name}: a datagram took ${o.longestCallMs.toFixed(1)} ms`);
  if (o.rssGrowthMb >= 200) failures.push(`${name}: RSS grew ${o.rssGrowthMb.toFixed(0)} MiB`);
  if (state !== 'byte-exact') failures.push(`${name}: honest transfer ${state}`);
}
const f = await floodRun({ baseline: true });
const withoutFlood = f.baseline.reduce((sum, d) => sum + d.mbps, 0) / f.baseline.length;
const floodRate = f.report.sent.datagrams / f.report.seconds;
console.log(
  `\nhandshake flood: ${f.report.sent.datagrams} datagrams in ${f.report.seconds.toFixed(1)} s (${Math.round(floodRate)}/s: ${f.report.sent.forged} forged inits, ` +
    `${f.report.sent.replayed} replayed, ${f.report.sent.garbage} garbage); goodput ${f.during.mbps.toFixed(1)} Mbit/s vs ${withoutFlood.toFixed(1)} without; ` +
    `exit relay CPU ${f.exitCpuSeconds.toFixed(2)} s over the flood; answers ${f.report.received.datagrams} (${f.report.received.bytes} bytes)`,
);
for (const d of [...f.baseline, f.during]) if (!d.intact) failures.push(`flood: a download was not byte-exact (${d.detail})`);
if (floodRate < FLOOD_RATE * 0.8) failures.push(`flood: only ${Math.round(floodRate)} datagrams/s sent`);
if (f.during.mbps < 0.9 * withoutFlood) failures.push(`flood: goodput ${f.during.mbps.toFixed(1)} Mbit/s, under 90% of ${withoutFlood.toFixed(1)}`);
if (f.report.received.datagrams !== 1 || f.report.received.largest > f.init.length) failures.push(`flood: answered ${f.report.received.datagrams} times, largest ${f.report.received.largest} bytes`);
console.log(`\npeak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB${global.gc === undefined ? ' (heap figures without --expose-gc include garbage)' : ''}`);
for (const f of failures) console.log(`FAIL ${f}`);
console.log(failures.length === 0 ? 'OK' : 'FAILED');
process.exitCode = failures.length === 0 ? 0 : 1;
