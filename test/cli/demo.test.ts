/**
 * `bering demo` as a user runs it: bering and kernel TCP over identical emulated paths at the
 * same time, both legs' results and a verdict built from measured numbers, and no network
 * namespace left behind, whether the demo finishes or is interrupted. Without kernel TCP (or with
 * `--no-tcp`) it says why in one line and runs the tunnel alone.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { kernelTcpUnavailable } from '../../src/lab/namespaceLink.ts';
import { beringNodeArgs, run, tempDir } from './run.ts';

/** A short, quick path: the numbers still come from a real transfer. */
const QUICK = ['demo', '--size', '2', '--delay-ms', '20'];
const noKernelTcp = await kernelTcpUnavailable('cubic');
const kernelTcp = noKernelTcp === null ? 'kernel TCP' : `kernel TCP (skipped: ${noKernelTcp})`;

/** The demo's namespaces, named in its "direct TCP:" topology line. */
function namespacesIn(stdout: string): string[] {
  return [...stdout.matchAll(/\(netns ([\w-]+)\)/g)].map((m) => m[1]);
}

function liveNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n !== '');
}

/** The stdout with the verdict's line breaks undone, for matching sentences. */
function flat(stdout: string): string {
  return stdout.replace(/\s+/g, ' ');
}

describe('bering demo', () => {
  it.skipIf(noKernelTcp !== null)(`races bering against ${kernelTcp}, checks both, and leaves no namespace behind`, async () => {
    const r = await run(QUICK);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr).toBe('');

    const bering = /bering tunnel: 2\.00 MiB in ([\d.]+) s = ([\d.]+) Mbit\/s goodput, SHA-256 match/.exec(r.stdout);
    expect(bering, r.stdout).not.toBeNull();
    const direct = /direct TCP: +([\d.]+) MiB in ([\d.]+) s = ([\d.]+) Mbit\/s goodput, SHA-256 of the [\d.]+ MiB received matches what was sent/.exec(r.stdout);
    expect(direct, r.stdout).not.toBeNull();
    const [beringMbps, tcpMib, tcpSeconds] = [Number(bering![2]), Number(direct![1]), Number(direct![2])];
    expect(tcpMib).toBeGreaterThan(0);
    // Both legs ran for the same wall time: the direct one stopped when the tunnel finished.
    expect(tcpSeconds).toBeCloseTo(Number(bering![1]), 0);

    const verdict = /Verdict: bering carried 2\.00 MiB at ([\d.]+) Mbit\/s, \d+% of the 97\.0 Mbit\/s .*? got ([\d.]+) MiB through at ([\d.]+) Mbit\/s, every byte as sent .*?: bering was ([\d.]+)x faster\./.exec(flat(r.stdout));
    expect(verdict, r.stdout).not.toBeNull();
    expect(Number(verdict![1])).toBe(beringMbps);
    expect(Number(verdict![4])).toBeGreaterThan(2);
    expect(Number(verdict![4])).toBeCloseTo(beringMbps / Number(verdict![3]), -1);

    const names = namespacesIn(r.stdout);
    expect(names).toHaveLength(2);
    for (const name of names) expect(liveNamespaces()).not.toContain(name);
  });

  it('--no-tcp runs the tunnel alone and says why, with the Mathis estimate', async () => {
    const r = await run([...QUICK, '--no-tcp']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Direct TCP comparison skipped: turned off with --no-tcp.\n');
    expect(r.stdout).toMatch(/one plain TCP Reno flow on this path: about 2\.04 Mbit\/s, by the Mathis formula/);
    expect(r.stdout).toMatch(/bering tunnel: 2\.00 MiB in [\d.]+ s = [\d.]+ Mbit\/s goodput, SHA-256 match/);
    expect(r.stdout).not.toMatch(/direct TCP/);
    expect(flat(r.stdout)).toMatch(/Verdict: bering carried 2\.00 MiB .* Direct TCP was not measured \(turned off with --no-tcp\); .* about 2\.04 Mbit\/s/);
  });

  it('without kernel TCP (no ip or socat on PATH) says why in one line and runs the tunnel alone', async () => {
    const r = await run(QUICK, { PATH: tempDir() });
    expect(r.code, r.stderr).toBe(0);
    const skipped = r.stdout.split('\n').filter((l) => l.startsWith('Direct TCP comparison skipped: '));
    expect(skipped, r.stdout).toHaveLength(1);
    expect(skipped[0]).toMatch(/needs (root|iproute2's ip)/);
    expect(r.stdout).toMatch(/about 2\.04 Mbit\/s, by the Mathis formula/);
    expect(r.stdout).toMatch(/bering tunnel: 2\.00 MiB in [\d.]+ s = [\d.]+ Mbit\/s goodput, SHA-256 match/);
  });

  it('on SIGINT mid-transfer stops everything, deletes its namespaces and exits 130 with one line', async () => {
    const child = spawn(process.execPath, beringNodeArgs(['demo']), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const sending = new Promise<void>((ok) => {
      child.stdout.on('data', (b: Buffer) => {
        stdout += b.toString();
        if (stdout.includes('Sending ')) ok();
      });
    });
    const exited = once(child, 'exit');
    await sending;
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(130);
    expect(stderr).toBe('bering: error: interrupted by SIGINT; everything the demo started is stopped\n');
    if (noKernelTcp === null) {
      // Once in a full run (other files setting up namespaces at the same time) the demo could not
      // set its own up and said so; what it must still do is leave none of its namespaces behind.
      const names = stdout.includes('Direct TCP comparison skipped:') ? [] : namespacesIn(stdout);
      if (names.length === 0) expect(stdout).toContain('Direct TCP comparison skipped: could not set up its network namespaces');
      else expect(names).toHaveLength(2);
      const ours = `bering-demo-${child.pid}-`;
      expect(liveNamespaces().filter((n) => n.startsWith(ours))).toEqual([]);
      for (const name of names) expect(liveNamespaces()).not.toContain(name);
    }
  });

  it.each([
    [['--loss', '60'], "--loss: '60' is not a number from 0 to 50"],
    [['--no-tcp=yes'], 'option --no-tcp takes no value'],
    [['--bogus'], 'unknown option --bogus'],
  ])('%j is one error line and exit 2', async (args, why) => {
    const r = await run(['demo', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`bering: error: ${why}\n`);
  });
});
