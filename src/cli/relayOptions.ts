/**
 * `bering relay` settings: flags, an optional `--config` JSON file with the same settings (keys
 * are the long flag names in camelCase), flags overriding the file, then validation into a typed
 * {@link RelaySettings}.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import type { HostPort } from '../io/address.ts';
import { CliError, usageError } from './errors.ts';
import { parseHostPort, parseHostPortList } from './hostPort.ts';
import { readKeyFile } from './key.ts';

/** The relay flags, as `node:util` parseArgs options. */
const RELAY_FLAGS = {
  'tcp-listen': { type: 'string' },
  'udp-listen': { type: 'string', multiple: true },
  peer: { type: 'string', multiple: true },
  forward: { type: 'string' },
  'key-file': { type: 'string' },
  'drain-timeout': { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const RELAY_USAGE = `Usage:
  bering relay --udp-listen H:P[,H:P...] --forward H:P --key-file F      (exit relay, next to the service)
  bering relay --tcp-listen H:P --peer H:P[,H:P...] --key-file F         (entry relay, next to the viewers)

Options:
  --tcp-listen H:P         accept viewers' TCP connections here (entry relay)
  --peer H:P[,H:P...]      the exit relay's UDP address(es); each one is a path (entry relay)
  --udp-listen H:P[,...]   accept the entry relay's UDP paths here (exit relay)
  --forward H:P            the service each connection is forwarded to (exit relay)
  --key-file F             shared key made by 'bering keygen' (the same file on both relays)
  --drain-timeout SECONDS  on SIGTERM/SIGINT, let open connections finish this long (default 10)
  --config FILE            read the settings above from a JSON file; flags given too win
                           (keys in camelCase: {"udpListen": ["0.0.0.0:7000"], "forward": ..., "keyFile": ...})
  -h, --help               show this help

H:P is host:port, with IPv6 in brackets: [2001:db8::1]:7000. LOG_LEVEL sets the log level (info).`;

/** The settings a relay runs with, checked and typed. */
export interface RelaySettings {
  /** Entry relay: where viewers connect. */
  tcpListen?: HostPort;
  /** Entry relay: the exit relay's UDP addresses, one path each. */
  peers?: HostPort[];
  /** Exit relay: UDP addresses to accept paths on. */
  udpListen?: HostPort[];
  /** Exit relay: the service. */
  forward?: HostPort;
  psk: Uint8Array;
  drainTimeoutMs: number;
}

/** Settings before validation: strings as given on the command line or in the file. */
interface RawSettings {
  tcpListen?: string;
  udpListen?: string[];
  peer?: string[];
  forward?: string;
  keyFile?: string;
  drainTimeout?: string;
}

const CONFIG_KEYS = ['tcpListen', 'udpListen', 'peer', 'forward', 'keyFile', 'drainTimeout'] as const;

/** Parses `bering relay` arguments; returns null when `--help` was asked for. */
export function parseRelayArgs(args: string[]): RelaySettings | null {
  const { values } = parseStrict(args, RELAY_FLAGS);
  if (values.help) return null;
  const fromFlags: RawSettings = {
    tcpListen: values['tcp-listen'],
    udpListen: values['udp-listen'],
    peer: values.peer,
    forward: values.forward,
    keyFile: values['key-file'],
    drainTimeout: values['drain-timeout'],
  };
  const fromFile = values.config === undefined ? {} : readConfigFile(values.config);
  const merged: RawSettings = { ...fromFile };
  for (const key of CONFIG_KEYS) {
    const v = fromFlags[key];
    if (v !== undefined) (merged as Record<string, unknown>)[key] = v;
  }
  return validate(merged);
}

/**
 * Reads a JSON config file. Unknown keys and values of the wrong type are errors naming the key
 * and the file; a relative `keyFile` is taken relative to the config file.
 */
function readConfigFile(path: string): RawSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read config file '${path}': ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(`config file '${path}' is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CliError(`config file '${path}' must hold a JSON object`);
  }
  const raw: RawSettings = {};
  for (const [key, value] of Object.entries(json)) {
    const bad = (want: string) => new CliError(`config file '${path}': '${key}' must be ${want}`);
    switch (key) {
      case 'tcpListen':
      case 'forward':
      case 'keyFile':
        if (typeof value !== 'string') throw bad('a string');
        raw[key] = key === 'keyFile' ? resolvePath(dirname(path), value) : value;
        break;
      case 'udpListen':
      case 'peer':
        if (typeof value === 'string') raw[key] = [value];
        else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) raw[key] = value as string[];
        else throw bad('a string or a list of strings');
        break;
      case 'drainTimeout':
        if (typeof value !== 'number' && typeof value !== 'string') throw bad('a number of seconds');
        raw.drainTimeout = String(value);
        break;
      default:
        throw new CliError(`config file '${path}': unknown key '${key}' (known: ${CONFIG_KEYS.join(', ')})`);
    }
  }
  return raw;
}

function validate(raw: RawSettings): RelaySettings {
  const has = (k: keyof RawSettings) => raw[k] !== undefined;
  if (has('tcpListen') && has('udpListen')) {
    throw usageError('give either --tcp-listen (entry relay) or --udp-listen (exit relay), not both');
  }
  if (!has('tcpListen') && !has('udpListen')) {
    throw usageError('give --tcp-listen (entry relay) or --udp-listen (exit relay); see bering relay --help');
  }
  if (raw.keyFile === undefined) throw usageError('--key-file is required (make a key with: bering keygen > bering.key)');
  const drainTimeoutMs = parseSeconds(raw.drainTimeout ?? '10', '--drain-timeout') * 1000;
  const settings: RelaySettings = { psk: new Uint8Array(0), drainTimeoutMs };
  if (raw.tcpListen !== undefined) {
    if (raw.peer === undefined) throw usageError('the entry relay (--tcp-listen) needs --peer, the exit relay\'s UDP address');
    if (raw.forward !== undefined) throw usageError('--forward belongs to the exit relay (--udp-listen), not with --tcp-listen');
    settings.tcpListen = parseHostPort(raw.tcpListen, '--tcp-listen', true);
    settings.peers = raw.peer.flatMap((p) => parseHostPortList(p, '--peer'));
  } else if (raw.udpListen !== undefined) {
    if (raw.forward === undefined) throw usageError('the exit relay (--udp-listen) needs --forward, the service address');
    if (raw.peer !== undefined) throw usageError('--peer belongs to the entry relay (--tcp-listen), not with --udp-listen');
    settings.udpListen = raw.udpListen.flatMap((a) => parseHostPortList(a, '--udp-listen', true));
    settings.forward = parseHostPort(raw.forward, '--forward');
  }
  if ((settings.peers?.length ?? 0) > 256) throw usageError('--peer: at most 256 paths');
  settings.psk = readKeyFile(raw.keyFile);
  return settings;
}

function parseSeconds(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw usageError(`${what}: '${text}' is not a number of seconds`);
  return n;
}

/** Options accepted by {@link parseStrict}, as `node:util` parseArgs takes them. */
type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/**
 * `node:util` parseArgs in strict mode, with its errors turned into short usage errors
 * (`unknown option --x`, `option --peer needs a value`).
 */
export function parseStrict<T extends FlagSpec>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const quoted = /'([^']*)'/.exec(e.message)?.[1] ?? '';
    switch (e.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        throw usageError(`unknown option ${quoted}`);
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        throw usageError(`option ${quoted.split(' ')[0]} ${e.message.includes('does not take') ? 'takes no value' : 'needs a value'}`);
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw usageError(`unexpected argument '${quoted}'`);
      default:
        throw usageError(e.message);
    }
  }
}
