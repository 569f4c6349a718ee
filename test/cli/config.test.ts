/**
 * Config files (YAML and JSON): what they may say, flags overriding them, and one clear error
 * naming the key, the file and the line for everything they may get wrong. The examples in
 * contrib/ are checked here too, so they cannot rot.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/errors.ts';
import { CONFIG_KEYS } from '../../src/cli/config.ts';
import { parseRelayArgs, RELAY_FLAGS } from '../../src/cli/relayOptions.ts';
import { run, tempDir, writeTemp } from './run.ts';

const dir = tempDir();
const keyFile = writeTemp(dir, 'bering.key', randomBytes(32).toString('base64'));
const contrib = (name: string) => fileURLToPath(new URL(`../../contrib/${name}`, import.meta.url));
/** Writes a config file; `lines` joined with newlines, so tests can name line numbers. */
const file = (name: string, ...lines: string[]) => writeTemp(dir, name, `${lines.join('\n')}\n`);

describe('config files', () => {
  it('can say everything the flags can', () => {
    const camel = (flag: string) => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    // --service is repeatable; its key holds the list.
    const key = (flag: string) => (flag === 'service' ? 'services' : camel(flag));
    const settings = Object.keys(RELAY_FLAGS).filter((f) => f !== 'config' && f !== 'help');
    expect(settings.map(key).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k))).toEqual([]);
  });

  it('reads the example entry relay config: paths with options, services, metrics, timeouts', () => {
    const s = parseRelayArgs(['--config', contrib('entry.yaml'), '--key-file', keyFile])!;
    expect(s).toMatchObject({
      peers: [
        { host: '203.0.113.7', port: 7000 },
        { host: '203.0.113.7', port: 7001 },
      ],
      services: [
        { name: 'plex', address: { host: '0.0.0.0', port: 32400 } },
        { name: 'ssh', address: { host: '0.0.0.0', port: 2222 } },
      ],
      metrics: { host: '127.0.0.1', port: 9090 },
      drainTimeoutMs: 10_000,
      session: { idleTimeoutMs: 8000, paths: [{}, { maxRateMbps: 500 }] },
    });
    expect(s.tcpListen).toBeUndefined();
  });

  it('reads the example exit relay config', () => {
    const s = parseRelayArgs(['--config', contrib('exit.yaml'), '--key-file', keyFile])!;
    expect(s).toMatchObject({
      udpListen: [
        { host: '0.0.0.0', port: 7000 },
        { host: '0.0.0.0', port: 7001 },
      ],
      services: [
        { name: 'plex', address: { host: '192.168.1.10', port: 32400 } },
        { name: 'ssh', address: { host: '192.168.1.10', port: 22 } },
      ],
      session: { idleTimeoutMs: 8000, maxRateMbps: 500 },
    });
    expect(s.forward).toBeUndefined();
  });

  it('reads JSON with the same keys; a backup path and the unnamed service next to named ones', () => {
    const path = writeTemp(
      dir,
      'entry.json',
      JSON.stringify({
        tcpListen: '127.0.0.1:8000',
        peer: ['a.example:7000', { address: '[2001:db8::7]:7000', backup: true }],
        services: [{ name: 'ssh', listen: '127.0.0.1:2222' }],
        keyFile: 'bering.key',
      }),
    );
    const s = parseRelayArgs(['--config', path])!;
    expect(s).toMatchObject({
      tcpListen: { host: '127.0.0.1', port: 8000 },
      peers: [
        { host: 'a.example', port: 7000 },
        { host: '2001:db8::7', port: 7000 },
      ],
      services: [{ name: 'ssh', address: { host: '127.0.0.1', port: 2222 } }],
      session: { paths: [{}, { backup: true }] },
    });
    // Nothing set, nothing passed: the core keeps its own defaults.
    expect(s.session).not.toHaveProperty('idleTimeoutMs');
    expect(s.metrics).toBeUndefined();
  });

  it('lets flags override the file key by key', () => {
    const s = parseRelayArgs([
      '--config',
      contrib('exit.yaml'),
      '--key-file',
      keyFile,
      '--service',
      'web=127.0.0.1:8080',
      '--forward',
      '127.0.0.1:9000',
      '--metrics',
      '0.0.0.0:9100',
      '--idle-timeout',
      '3',
      '--max-rate-mbps',
      '50',
    ])!;
    expect(s).toMatchObject({
      services: [{ name: 'web', address: { host: '127.0.0.1', port: 8080 } }],
      forward: { host: '127.0.0.1', port: 9000 },
      metrics: { host: '0.0.0.0', port: 9100 },
      session: { idleTimeoutMs: 3000, maxRateMbps: 50 },
      udpListen: [{ port: 7000 }, { port: 7001 }],
    });
  });

  it('takes services from flags alone', () => {
    const s = parseRelayArgs(['--peer', 'a.example:7000', '--service', 'plex=0.0.0.0:32400', '--key-file', keyFile])!;
    expect(s).toMatchObject({ peers: [{ port: 7000 }], services: [{ name: 'plex', address: { port: 32400 } }] });
  });

  it.each([
    [
      'unknown key',
      ['tcpListen: 127.0.0.1:1', 'peers: a.example:1', 'keyFile: bering.key'],
      "line 2: unknown key 'peers' (known: tcpListen, peer,",
    ],
    [
      'unknown key in a service',
      ['peer: a.example:1', 'keyFile: bering.key', 'services:', '  - name: plex', '    port: 32400'],
      "line 5: unknown key 'services[0].port' (known: name, listen, forward)",
    ],
    ['wrong type (number)', ['udpListen: 0.0.0.0:7000', 'forward: 7', 'keyFile: bering.key'], "line 2: 'forward' must be a host:port string"],
    ['wrong type (seconds)', ['udpListen: 0.0.0.0:7000', 'forward: a.example:1', 'idleTimeout: soon'], "line 3: 'idleTimeout' must be a number of seconds"],
    [
      'wrong type (boolean)',
      ['tcpListen: 127.0.0.1:1', 'peer:', '  - address: a.example:1', '    backup: "yes"'],
      "line 4: 'peer[0].backup' must be true or false",
    ],
    [
      'bad address in a list',
      ['udpListen:', '  - 0.0.0.0:7000', '  - nowhere', 'forward: a.example:1', 'keyFile: bering.key'],
      "line 3: 'udpListen[1]': bad address 'nowhere': expected host:port",
    ],
    ['unquoted IPv6', ['tcpListen: 127.0.0.1:1', 'peer: [::1]:7000'], "line 2: not valid YAML: Unexpected scalar at node end; quote addresses that start with '['"],
    ['port out of range', ['tcpListen: 127.0.0.1:1', 'peer: a.example:70000', 'keyFile: bering.key'], "line 2: 'peer': bad address 'a.example:70000': port must be"],
    ['missing key file', ['tcpListen: 127.0.0.1:1', 'peer: a.example:1', 'keyFile: missing.key'], `line 3: 'keyFile': key file '${dir}/missing.key': cannot read it: no such file`],
    ['a service without a name', ['peer: a.example:1', 'services:', '  - listen: 0.0.0.0:1'], "line 3: 'services[0]' needs a 'name'"],
    [
      'services of both roles',
      ['udpListen: 0.0.0.0:7000', 'keyFile: bering.key', 'services:', '  - name: plex', '    listen: 0.0.0.0:32400', '  - name: ssh', '    forward: 127.0.0.1:22'],
      "line 7: 'services[1].forward' belongs to the exit relay, not with config file",
    ],
    [
      'a service given twice',
      ['peer: a.example:1', 'keyFile: bering.key', 'services:', '  - {name: plex, listen: 0.0.0.0:1}', '  - {name: plex, listen: 0.0.0.0:2}'],
      "line 5: 'services[1].name': service 'plex' is given twice",
    ],
    ['a bad service name', ['peer: a.example:1', 'keyFile: bering.key', 'services: [{name: "my plex", listen: 0.0.0.0:1}]'], "line 3: 'services[0].name': bad service name 'my plex'"],
    ['a negative rate', ['peer: {address: a.example:1, maxRateMbps: -5}', 'tcpListen: 127.0.0.1:1', 'keyFile: bering.key'], "line 1: 'peer.maxRateMbps': must be more than 0"],
    ['not YAML', ['tcpListen: 127.0.0.1:1', 'peer: [a.example:1', 'keyFile: bering.key'], 'line 3: not valid YAML'],
    ['not a mapping', ['- tcpListen: 127.0.0.1:1'], 'line 1: must hold a YAML mapping of settings'],
  ])('rejects a YAML file with %s, naming key, file and line', (_what, lines, why) => {
    const path = file('bad.yaml', ...lines);
    expect(() => parseRelayArgs(['--config', path])).toThrow(CliError);
    expect(() => parseRelayArgs(['--config', path])).toThrow(`config file '${path}' ${why}`);
  });

  it('points at the line of a key in a JSON file, and at JSON syntax errors', () => {
    const typo = file('typo.json', '{', '  "udpListen": "0.0.0.0:7000",', '  "fowrard": "a.example:1"', '}');
    expect(() => parseRelayArgs(['--config', typo])).toThrow(`config file '${typo}' line 3: unknown key 'fowrard'`);
    const broken = file('broken.json', '{', '  "udpListen": "0.0.0.0:7000",', '}');
    expect(() => parseRelayArgs(['--config', broken])).toThrow(`config file '${broken}' line 3: not valid JSON`);
    const comment = file('comment.json', '# not JSON', '{}');
    expect(() => parseRelayArgs(['--config', comment])).toThrow('not valid JSON');
  });

  it('wants .yaml, .yml or .json', () => {
    const path = file('relay.conf', 'tcpListen: 127.0.0.1:1');
    expect(() => parseRelayArgs(['--config', path])).toThrow(`config file '${path}': the name must end in .yaml, .yml or .json`);
  });
});

describe('bering relay --config errors, as a user sees them', () => {
  it.concurrent.each([
    ['unknown key', ['udpListen: 0.0.0.0:7000', 'forward: a.example:1', 'keyFile: bering.key', 'metrcs: 127.0.0.1:9090'], "line 4: unknown key 'metrcs'"],
    ['wrong type', ['udpListen: 0.0.0.0:7000', 'forward: a.example:1', 'keyFile: bering.key', 'drainTimeout: [10]'], "line 4: 'drainTimeout' must be a number of seconds"],
    ['bad address', ['udpListen: 0.0.0.0:7000', 'forward: a.example', 'keyFile: bering.key'], "line 2: 'forward': bad address 'a.example': expected host:port"],
    ['missing key file', ['udpListen: 0.0.0.0:7000', 'forward: a.example:1', 'keyFile: gone.key'], "line 3: 'keyFile': key file"],
  ])('%s: one error line naming key, file and line; non-zero exit', async (what, lines, why) => {
    const path = file(`${what.replace(/ /g, '-')}.yaml`, ...lines);
    const r = await run(['relay', '--config', path]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stdout).toBe('');
    const errors = r.stderr.split('\n').filter((l) => l !== '');
    expect(errors, r.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^bering: error: config file '${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' `));
    expect(errors[0]).toContain(why);
  });
});
