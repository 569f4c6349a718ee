/**
 * `bin/bering` as a child process: every user mistake ends in exactly one `bering: error:` line
 * on stderr and a non-zero status, never a stack trace.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, tempDir, writeTemp } from './run.ts';

const dir = tempDir();
const keyFile = writeTemp(dir, 'ok.key', randomBytes(32).toString('base64'));
const shortKey = writeTemp(dir, 'short.key', randomBytes(31).toString('base64'));
const brokenConfig = writeTemp(dir, 'broken.json', '{');

/** Asserts the one-line error contract and returns the line. */
function expectOneErrorLine(r: { code: number | null; stderr: string }): string {
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^bering: error: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0];
}

const tcpBusy = net.createServer();
const udpBusy = dgram.createSocket('udp4');
const ready = Promise.all([
  new Promise<void>((ok) => tcpBusy.listen(0, '127.0.0.1', ok)),
  new Promise<void>((ok) => udpBusy.bind(0, '127.0.0.1', ok)),
]);
afterAll(() => {
  tcpBusy.close();
  udpBusy.close();
});

describe('bering CLI errors', () => {
  const relay = ['relay', '--key-file', keyFile];
  // One mistake of each kind that reaches a different part of the command: dispatch, a
  // subcommand's flags, the relay's flags, its key file and config file, the demo's options.
  // Every relay flag and file mistake is in relayOptions.test.ts, in-process.
  it.concurrent.each([
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['keygen', '--bits', '256'], 'unknown option --bits'],
    [['relay', '--bogus'], 'unknown option --bogus'],
    [[...relay, '--tcp-listen', 'localhost', '--peer', '127.0.0.1:9'], "--tcp-listen: bad address 'localhost'"],
    [['relay', '--tcp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:9', '--key-file', shortKey], 'holds 31 bytes, expected 32'],
    [['relay', '--config', brokenConfig], 'not valid JSON'],
    [[...relay, '--tcp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:9', '--workers', '2'], "--workers: worker threads run a listening exit relay's sessions"],
    [['demo', '--size', 'lots'], "--size: 'lots'"],
  ])('%j', async (args, why) => {
    const r = await run(args);
    expect(expectOneErrorLine(r)).toContain(why);
    // Every one of these is a mistake in what was written: flags, config file, key file.
    expect(r.code).toBe(2);
  });

  it('rejects a bad LOG_LEVEL', async () => {
    const r = await run([...relay, '--tcp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:9'], { LOG_LEVEL: 'loud' });
    expect(expectOneErrorLine(r)).toContain("LOG_LEVEL 'loud'");
  });

  it('rejects a stream trace file it cannot write (BERING_STREAM_TRACE)', async () => {
    const path = join(dir, 'no-such-folder', 'trace.csv');
    const r = await run([...relay, '--tcp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:9'], { LOG_LEVEL: 'silent', BERING_STREAM_TRACE: path });
    expect(expectOneErrorLine(r)).toContain(`BERING_STREAM_TRACE: cannot write ${path}: ENOENT`);
    expect(r.code).toBe(1);
  });

  it('reports a TCP address in use', async () => {
    await ready;
    const port = (tcpBusy.address() as net.AddressInfo).port;
    const r = await run([...relay, '--tcp-listen', `127.0.0.1:${port}`, '--peer', '127.0.0.1:9'], { LOG_LEVEL: 'silent' });
    expect(expectOneErrorLine(r)).toBe(`bering: error: cannot listen on tcp 127.0.0.1:${port}: address already in use`);
    // Not a usage mistake: the command was right, the machine said no.
    expect(r.code).toBe(1);
  });

  it('reports a UDP address in use', async () => {
    await ready;
    const port = udpBusy.address().port;
    const r = await run([...relay, '--udp-listen', `127.0.0.1:${port}`, '--forward', '127.0.0.1:9'], { LOG_LEVEL: 'silent' });
    expect(expectOneErrorLine(r)).toBe(`bering: error: cannot listen on udp 127.0.0.1:${port}: address already in use`);
  });

  it('reports an address that is not on this machine', async () => {
    const r = await run([...relay, '--udp-listen', '192.0.2.1:7000', '--forward', '127.0.0.1:9'], { LOG_LEVEL: 'silent' });
    expect(expectOneErrorLine(r)).toContain('cannot listen on udp 192.0.2.1:7000');
  });
});

describe('bering CLI', () => {
  it('keygen prints 32 random bytes as base64, and a new key each time', async () => {
    const [a, b] = await Promise.all([run(['keygen']), run(['keygen'])]);
    for (const r of [a, b]) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      expect(Buffer.from(r.stdout.trim(), 'base64')).toHaveLength(32);
    }
    expect(a.stdout).not.toBe(b.stdout);
  });

  it('keygen output is accepted as a key file', async () => {
    const k = await run(['keygen']);
    const path = writeTemp(dir, 'fresh.key', k.stdout);
    // Fails later, at the busy port, so the key itself was fine.
    await ready;
    const port = (tcpBusy.address() as net.AddressInfo).port;
    const r = await run(['relay', '--key-file', path, '--tcp-listen', `127.0.0.1:${port}`, '--peer', '127.0.0.1:9'], { LOG_LEVEL: 'silent' });
    expect(expectOneErrorLine(r)).toContain('address already in use');
  });

  it('keygen --out writes a key only its owner can read, and never overwrites one', async () => {
    const path = join(dir, 'out.key');
    const first = await run(['keygen', '--out', path]);
    expect(first).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const key = readFileSync(path, 'utf8');
    expect(Buffer.from(key.trim(), 'base64')).toHaveLength(32);
    expect(expectOneErrorLine(await run(['keygen', '--out', path]))).toContain(`'${path}' exists; refusing to overwrite`);
    expect(readFileSync(path, 'utf8')).toBe(key);
  });

  it('a relay warns in one line when its key file is readable by others, and not when it is private', async () => {
    await ready;
    const port = (tcpBusy.address() as net.AddressInfo).port;
    const relay = (key: string) => run(['relay', '--key-file', key, '--tcp-listen', `127.0.0.1:${port}`, '--peer', '127.0.0.1:9'], { LOG_LEVEL: 'warn' });
    const open = writeTemp(dir, 'open.key', randomBytes(32).toString('base64'));
    chmodSync(open, 0o644);
    const loose = await relay(open);
    const warnings = loose.stderr.split('\n').filter((l) => l.includes('chmod 600'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`key file '${open}' is readable by everyone (mode 0644)`);
    chmodSync(open, 0o600);
    expect((await relay(open)).stderr).not.toContain('readable by');
  });

  it.concurrent.each([[[]], [['--help']], [['relay', '--help']], [['keygen', '--help']], [['status', '--help']], [['demo', '--help']], [['bench', '--help']]])('%j prints usage to stdout', async (args) => {
    const r = await run(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage/);
    expect(r.stderr).toBe('');
  });

  it.concurrent.each([['-v'], ['--version']])('%s prints the version', async (flag) => {
    const r = await run([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('bench rejects an unknown option with one line and a non-zero exit', async () => {
    const r = await run(['bench', '--bogus']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe('bering: error: unknown option --bogus\n');
  });

  it.concurrent.each([
    [['--workload', 'bulk-sideways'], /^bering: error: --workload: unknown workload 'bulk-sideways' \(known: bulk-down, .*\)\n$/],
    [['--quick', '--workload', 'cbr-up'], /^bering: error: --workload: the quick plan has no 'cbr-up' \(it has bulk-down, cbr-down\); drop --quick\n$/],
  ])('bench %j says which workloads exist, in one line, before running anything', async (args, message) => {
    const r = await run(['bench', ...args]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});
