import { describe, expect, it } from 'vitest';
import { formatHostPort } from '../../src/io/address.ts';
import { CliError } from '../../src/cli/errors.ts';
import { parseHostPort, parseHostPortList } from '../../src/cli/hostPort.ts';

describe('parseHostPort', () => {
  it.each([
    ['203.0.113.7:7000', '203.0.113.7', 7000],
    ['0.0.0.0:1', '0.0.0.0', 1],
    ['localhost:65535', 'localhost', 65535],
    ['relay-1.example.com:443', 'relay-1.example.com', 443],
    ['[2001:db8::1]:7000', '2001:db8::1', 7000],
    ['[::]:7000', '::', 7000],
    ['[::ffff:192.0.2.1]:80', '::ffff:192.0.2.1', 80],
  ])('parses %s', (text, host, port) => {
    expect(parseHostPort(text, '--peer')).toEqual({ host, port });
  });

  it.each([
    ['7000', 'expected host:port'],
    [':7000', 'missing host'],
    ['host:', 'port must be'],
    ['host:0', 'port must be'],
    ['host:65536', 'port must be'],
    ['host:70x', 'port must be'],
    ['host:-1', 'port must be'],
    ['2001:db8::1:7000', 'brackets'],
    ['[2001:db8::1:7000', "missing ']'"],
    ['[2001:db8::1]7000', "expected ':port'"],
    ['[not-v6]:7000', 'not an IPv6 address'],
    ['300.1.1.1:80', 'not an IPv4 address'],
    ['1.2.3:80', 'not an IPv4 address'],
    ['bad_host!:80', 'not a valid host name'],
    ['-lead.example:80', 'not a valid host name'],
  ])('rejects %s', (text, why) => {
    expect(() => parseHostPort(text, '--peer')).toThrow(CliError);
    expect(() => parseHostPort(text, '--peer')).toThrow(why);
    expect(() => parseHostPort(text, '--peer')).toThrow(`--peer: bad address '${text}'`);
  });

  it('accepts port 0 only for listen addresses', () => {
    expect(parseHostPort('127.0.0.1:0', '--udp-listen', true)).toEqual({ host: '127.0.0.1', port: 0 });
    expect(() => parseHostPort('127.0.0.1:0', '--peer')).toThrow('port must be');
  });

  it('round-trips through formatHostPort', () => {
    for (const text of ['203.0.113.7:7000', 'a.example:1', '[2001:db8::1]:7000']) {
      expect(formatHostPort(parseHostPort(text, 'x'))).toBe(text);
    }
  });
});

describe('parseHostPortList', () => {
  it('splits on commas and trims', () => {
    expect(parseHostPortList('a.example:1, [::1]:2,10.0.0.1:3', '--peer')).toEqual([
      { host: 'a.example', port: 1 },
      { host: '::1', port: 2 },
      { host: '10.0.0.1', port: 3 },
    ]);
  });

  it('rejects empty items', () => {
    expect(() => parseHostPortList('a.example:1,,b.example:2', '--peer')).toThrow('empty address');
    expect(() => parseHostPortList('', '--peer')).toThrow('empty address');
  });
});
