import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/errors.ts';
import { readKeyFile } from '../../src/cli/key.ts';
import { parseRelayArgs } from '../../src/cli/relayOptions.ts';
import { tempDir, writeTemp } from './run.ts';

const dir = tempDir();
const key = randomBytes(32);
const keyFile = writeTemp(dir, 'bering.key', `${key.toString('base64')}\n`);
const config = (name: string, json: unknown) => writeTemp(dir, name, JSON.stringify(json));

describe('parseRelayArgs', () => {
  it('reads an entry relay from flags', () => {
    const s = parseRelayArgs(['--tcp-listen', '0.0.0.0:32400', '--peer', 'a.example:7000,b.example:7001', '--key-file', keyFile]);
    expect(s).toMatchObject({
      tcpListen: { host: '0.0.0.0', port: 32400 },
      peers: [
        { host: 'a.example', port: 7000 },
        { host: 'b.example', port: 7001 },
      ],
      drainTimeoutMs: 10_000,
    });
    expect(Buffer.from(s!.psk).equals(key)).toBe(true);
  });

  it('accepts --peer several times and --drain-timeout in seconds', () => {
    const s = parseRelayArgs(['--tcp-listen', '127.0.0.1:1', '--peer', 'a.example:1', '--peer', '[::1]:2', '--key-file', keyFile, '--drain-timeout', '2.5']);
    expect(s?.peers).toHaveLength(2);
    expect(s?.drainTimeoutMs).toBe(2500);
  });

  it('reads an exit relay from a config file, keyFile relative to the file', () => {
    const file = config('exit.json', { udpListen: ['0.0.0.0:7000', '0.0.0.0:7001'], forward: '192.168.1.10:32400', keyFile: 'bering.key' });
    const s = parseRelayArgs(['--config', file]);
    expect(s).toMatchObject({
      udpListen: [
        { host: '0.0.0.0', port: 7000 },
        { host: '0.0.0.0', port: 7001 },
      ],
      forward: { host: '192.168.1.10', port: 32400 },
    });
    expect(Buffer.from(s!.psk).equals(key)).toBe(true);
  });

  it('takes --mtu and the mtu key, and leaves the default alone without them', () => {
    const base = ['--tcp-listen', '127.0.0.1:1', '--peer', 'a.example:1', '--key-file', keyFile];
    expect(parseRelayArgs([...base, '--mtu', '1200'])?.session.mtu).toBe(1200);
    expect(parseRelayArgs(base)?.session.mtu).toBeUndefined();
    const file = config('mtu.json', { tcpListen: '0.0.0.0:1', peer: 'a.example:1', keyFile, mtu: 1400 });
    expect(parseRelayArgs(['--config', file])?.session.mtu).toBe(1400);
  });

  it('lets flags override the config file', () => {
    const file = config('entry.json', { tcpListen: '0.0.0.0:1', peer: 'a.example:1', keyFile, drainTimeout: 30 });
    const s = parseRelayArgs(['--config', file, '--peer', 'b.example:2', '--drain-timeout', '1']);
    expect(s).toMatchObject({ tcpListen: { port: 1 }, peers: [{ host: 'b.example', port: 2 }], drainTimeoutMs: 1000 });
  });

  it.each([
    [[], 'give --tcp-listen (entry relay) or --udp-listen (exit relay)'],
    [['--udp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:9'], 'not both'],
    [['--tcp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:9', '--key-file', join(dir, 'missing.key')], 'no such file'],
    [['--tcp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:9', '--key-file', dir], 'is a directory'],
    [['--tcp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:9', '--key-file', writeTemp(dir, 'junk.key', 'not base64 at all!')], 'not base64 (make a new one with: bering keygen --out FILE)'],
    [['--tcp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:99999'], 'port must be a number from 1 to 65535'],
    [['--tcp-listen', '127.0.0.1:0', '--peer', '[::1:7000'], "missing ']'"],
    [['--udp-listen', '127.0.0.1:0', '--forward', '::1:80'], 'brackets'],
    [
      ['--tcp-listen', '127.0.0.1:0'],
      "--tcp-listen makes an entry relay: give --peer H:P[,H:P...] (the exit relay's UDP addresses), or --udp-listen H:P to wait for an exit relay that dials",
    ],
  ])('rejects %j as a usage mistake (exit status 2)', (args, why) => {
    const withKey = args.includes('--key-file') ? args : [...args, '--key-file', keyFile];
    let thrown: unknown;
    try {
      parseRelayArgs(withKey);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CliError);
    expect((thrown as CliError).message).toContain(why);
    expect((thrown as CliError).exitCode).toBe(2);
  });

  it('takes --workers and the workers key on a listening exit relay only', () => {
    const exit = ['--udp-listen', '127.0.0.1:0', '--forward', '127.0.0.1:9', '--key-file', keyFile];
    expect(parseRelayArgs(exit)?.workers).toBe(0);
    expect(parseRelayArgs([...exit, '--workers', '3'])?.workers).toBe(3);
    expect(parseRelayArgs(['--config', config('workers.json', { udpListen: '0.0.0.0:7000', forward: '127.0.0.1:9', keyFile, workers: 2 })])?.workers).toBe(2);
    for (const bad of ['-1', '1.5', '33', 'many']) expect(() => parseRelayArgs([...exit, '--workers', bad])).toThrow('--workers');
    expect(() => parseRelayArgs(['--tcp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:9', '--key-file', keyFile, '--workers', '2'])).toThrow(
      "--workers: worker threads run a listening exit relay's sessions",
    );
    expect(() => parseRelayArgs(['--peer', '127.0.0.1:9', '--forward', '127.0.0.1:9', '--key-file', keyFile, '--workers', '2'])).toThrow("listening exit relay's sessions");
    expect(() => parseRelayArgs([...exit, '--webrtc-listen', '127.0.0.1:0', '--workers', '2'])).toThrow('not with --webrtc-listen');
    // 0 is the default, wherever it is given.
    expect(parseRelayArgs(['--tcp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:9', '--key-file', keyFile, '--workers', '0'])?.workers).toBe(0);
  });

  it('requires --key-file', () => {
    expect(() => parseRelayArgs(['--tcp-listen', '127.0.0.1:0', '--peer', '127.0.0.1:9'])).toThrow('--key-file is required');
  });

  it('rejects an unknown config key, naming it and the file', () => {
    const file = config('typo.json', { tcpListen: '0.0.0.0:1', peers: ['a.example:1'], keyFile });
    expect(() => parseRelayArgs(['--config', file])).toThrow(CliError);
    expect(() => parseRelayArgs(['--config', file])).toThrow(`config file '${file}' line 1: unknown key 'peers'`);
  });

  it.each([
    [{ forward: 7 }, "'forward' must be a host:port string"],
    [{ peer: [1] }, "'peer[0]' must be a host:port string"],
    [{ drainTimeout: true }, "'drainTimeout' must be a number of seconds"],
    [[1, 2], 'must hold a JSON object'],
  ])('rejects a config value of the wrong type: %j', (json, why) => {
    const file = config('bad.json', json);
    expect(() => parseRelayArgs(['--config', file])).toThrow(why);
  });

  it('rejects a config file that is not JSON or is missing', () => {
    const file = writeTemp(dir, 'broken.json', '{ "forward": ');
    expect(() => parseRelayArgs(['--config', file])).toThrow('not valid JSON');
    expect(() => parseRelayArgs(['--config', join(dir, 'nope.json')])).toThrow('no such file');
  });

  it('lets either relay dial: an entry relay that listens, an exit relay that dials', () => {
    const entry = parseRelayArgs(['--tcp-listen', '127.0.0.1:1', '--udp-listen', '0.0.0.0:7000', '--key-file', keyFile])!;
    expect(entry.role).toBe('entry');
    expect(entry.udpListen).toEqual([{ host: '0.0.0.0', port: 7000 }]);
    expect(entry.peers).toBeUndefined();
    const exit = parseRelayArgs(['--peer', 'entry.example:7000', '--forward', '127.0.0.1:32400', '--key-file', keyFile])!;
    expect(exit.role).toBe('exit');
    expect(exit.forward).toEqual({ host: '127.0.0.1', port: 32400 });
    expect(exit.peers).toHaveLength(1);
  });

  it.each([
    [[], 'give --tcp-listen (entry relay) or --udp-listen (exit relay)'],
    [['--tcp-listen', '127.0.0.1:1', '--key-file', keyFile], '--tcp-listen makes an entry relay: give --peer H:P[,H:P...]'],
    [['--forward', '127.0.0.1:1', '--key-file', keyFile], '--forward makes an exit relay: give --udp-listen H:P[,H:P...]'],
    [['--udp-listen', '127.0.0.1:1', '--key-file', keyFile], 'needs --forward'],
    [['--tcp-listen', '127.0.0.1:1', '--peer', 'a.example:1', '--forward', 'b.example:2', '--key-file', keyFile], '--forward belongs to the exit relay'],
    [['--udp-listen', '127.0.0.1:1', '--forward', 'b.example:2', '--peer', 'a.example:1', '--key-file', keyFile], 'give either --peer (dial the other relay) or --udp-listen (wait for it), not both'],
    [['--tcp-listen', '127.0.0.1:1', '--peer', 'a.example:1'], '--key-file is required'],
    [['--tcp-listen', '127.0.0.1:1', '--peer', 'a.example:1', '--key-file', keyFile, '--drain-timeout', 'soon'], "--drain-timeout: 'soon'"],
    [['--tcp-listen', 'nowhere', '--peer', 'a.example:1', '--key-file', keyFile], "--tcp-listen: bad address 'nowhere'"],
    [['--tcp-listen', '127.0.0.1:1', '--peer', 'a.example:1', '--key-file', keyFile, '--verbose'], 'unknown option --verbose'],
    [['--tcp-listen'], 'option --tcp-listen needs a value'],
    [['extra'], "unexpected argument 'extra'"],
    [['--tcp-listen', '127.0.0.1:1', '--peer', 'a.example:1', '--key-file', keyFile, '--mtu', '9000'], '--mtu: must be a whole number of bytes from 1024 to 1404'],
    [['--tcp-listen', '127.0.0.1:1', '--peer', 'a.example:1', '--key-file', keyFile, '--mtu', '1300.5'], '--mtu: must be a whole number'],
  ])('rejects %j', (args, why) => {
    expect(() => parseRelayArgs(args)).toThrow(CliError);
    expect(() => parseRelayArgs(args)).toThrow(why);
  });

  it('returns null for --help', () => {
    expect(parseRelayArgs(['--help'])).toBeNull();
  });
});

describe('readKeyFile', () => {
  it.each([
    ['short.key', randomBytes(16).toString('base64'), 'holds 16 bytes, expected 32'],
    ['long.key', randomBytes(33).toString('base64'), 'holds 33 bytes, expected 32'],
    ['garbage.key', 'this is not a key at all!', 'not base64'],
    ['truncated.key', randomBytes(32).toString('base64').slice(0, 40), 'holds 30 bytes'],
    ['mangled.key', `${randomBytes(32).toString('base64').slice(0, 20)}*${randomBytes(32).toString('base64').slice(21)}`, 'not base64'],
    ['empty.key', '', 'holds 0 bytes'],
  ])('rejects %s', (name, content, why) => {
    const path = writeTemp(dir, name, content);
    expect(() => readKeyFile(path)).toThrow(why);
  });

  it('reports a missing file', () => {
    expect(() => readKeyFile(join(dir, 'absent.key'))).toThrow('no such file');
  });
});
