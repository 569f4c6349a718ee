/**
 * `bering relay --config FILE`: every relay setting from one YAML (`.yaml`, `.yml`) or JSON
 * (`.json`) file. This module checks the file's shape and types and remembers, for every value,
 * the line it came from; relayOptions.ts merges the flags over it and checks the meaning (roles,
 * addresses, the key file), so every error names the key, the file and the line.
 *
 * Keys are the long flag names in camelCase, plus what only a file can say:
 * ```yaml
 * peer:                      # entry: one path per item; an item may carry path options
 *   - 203.0.113.7:7000
 *   - { address: "[2001:db8::7]:7000", backup: true, maxRateMbps: 50 }
 * services:                  # entry: one listener per service ...
 *   - { name: plex, listen: 0.0.0.0:32400 }
 * services:                  # ... exit: where each named service goes
 *   - { name: plex, forward: 192.168.1.10:32400 }
 * ```
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, resolve as resolvePath } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { CliError, usageError } from './errors.ts';

/** A setting's value and where it came from, as the prefix of any error about it. */
export interface Located<T> {
  value: T;
  /** `--peer`, or `config file 'relay.yaml' line 4: 'peer[1].address'`. */
  where: string;
}

/** One path to the exit relay, with its options. */
export interface PeerSetting {
  address: Located<string>;
  /** Used only while every regular path is down. */
  backup?: boolean;
  maxRateMbps?: Located<number>;
}

/** A named service: an entry relay's listener (`listen`) or an exit relay's target (`forward`). */
export interface ServiceSetting {
  name: Located<string>;
  address: Located<string>;
  /** The key the address was given under; null for `--service NAME=H:P`, which suits both roles. */
  key: 'listen' | 'forward' | null;
}

/** Relay settings as given, flags or file, before their meaning is checked. */
export interface RawSettings {
  tcpListen?: Located<string>;
  /** Each item may be a comma-separated list (flags). */
  udpListen?: Array<Located<string>>;
  /** Each address may be a comma-separated list when it came from a flag (then without options). */
  peer?: PeerSetting[];
  forward?: Located<string>;
  services?: ServiceSetting[];
  keyFile?: Located<string>;
  drainTimeout?: Located<number>;
  idleTimeout?: Located<number>;
  maxRateMbps?: Located<number>;
  /** Largest data packet, bytes. */
  mtu?: Located<number>;
  maxStreams?: Located<number>;
  maxSessions?: Located<number>;
  maxConnsPerIp?: Located<number>;
  handshakeRate?: Located<number>;
  maxBufferMb?: Located<number>;
  workers?: Located<number>;
  metrics?: Located<string>;
  /** 'on' or 'off': whether this relay sends FEC repairs. */
  fec?: Located<string>;
  webrtcListen?: Located<string>;
  /** STUN/TURN server URLs; each item may be a comma-separated list (flags). */
  stun?: Array<Located<string>>;
}

/** Every top-level key a config file may hold. */
export const CONFIG_KEYS = [
  'tcpListen',
  'peer',
  'udpListen',
  'forward',
  'services',
  'keyFile',
  'drainTimeout',
  'idleTimeout',
  'maxRateMbps',
  'mtu',
  'maxStreams',
  'maxSessions',
  'maxConnsPerIp',
  'handshakeRate',
  'maxBufferMb',
  'workers',
  'metrics',
  'fec',
  'webrtcListen',
  'stun',
] as const;

const PEER_KEYS = ['address', 'backup', 'maxRateMbps'];
const SERVICE_KEYS = ['name', 'listen', 'forward'];

/**
 * Reads and checks a config file; throws a usage `CliError` (exit status 2, as for a bad flag)
 * naming the file, line and key: `config file 'F' line N: 'key': ...`.
 */
export function loadConfigFile(path: string): RawSettings {
  const ext = extname(path).toLowerCase();
  if (ext !== '.yaml' && ext !== '.yml' && ext !== '.json') {
    throw usageError(`config file '${path}': the name must end in .yaml, .yml or .json (that says how to read it)`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw usageError(`config file '${path}': cannot read it: ${why}`);
  }
  const lines = new LineCounter();
  if (ext === '.json') checkJsonSyntax(path, text);
  // JSON is YAML too: one parser gives line numbers for both.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const line = lines.linePos(syntax.pos[0]).line;
    // `peer: [::1]:7000` starts a YAML list: the likeliest mistake with an IPv6 address.
    const hint = /\[[0-9A-Fa-f:.]*\]:\d/.test(text.split('\n')[line - 1] ?? '') ? "; quote addresses that start with '[', as \"[::1]:7000\"" : '';
    throw usageError(`config file '${path}' line ${line}: not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${syntax.message.split('\n')[0]}${hint}`);
  }
  return new FileReader(path, lines).read(doc.contents, ext === '.json' ? 'a JSON object' : 'a YAML mapping');
}

/** Strict JSON first: YAML would accept comments, single quotes and the like in a .json file. */
function checkJsonSyntax(path: string, text: string): void {
  try {
    JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    const line = at === null ? '' : ` line ${text.slice(0, Number(at[1])).split('\n').length}`;
    throw usageError(`config file '${path}'${line}: not valid JSON: ${message}`);
  }
}

/** Walks the parsed document, checking each key's type. */
class FileReader {
  constructor(
    private readonly path: string,
    private readonly lines: LineCounter,
  ) {}

  read(root: unknown, what: string): RawSettings {
    if (!isMap(root)) throw this.error(root, null, `must hold ${what} of settings (keys: ${CONFIG_KEYS.join(', ')})`);
    const raw: RawSettings = {};
    for (const [key, node] of this.entries(root, '', CONFIG_KEYS)) {
      switch (key as (typeof CONFIG_KEYS)[number]) {
        case 'tcpListen':
        case 'forward':
        case 'metrics':
        case 'webrtcListen':
          raw[key as 'tcpListen' | 'forward' | 'metrics' | 'webrtcListen'] = this.address(node, key);
          break;
        case 'keyFile': {
          const file = this.string(node, key, 'a file name');
          // Relative to the config file, so the pair can be moved together.
          raw.keyFile = { ...file, value: resolvePath(dirname(this.path), file.value) };
          break;
        }
        case 'udpListen':
          raw.udpListen = this.list(node, key).map(([item, where]) => this.address(item, where));
          break;
        case 'stun':
          raw.stun = this.list(node, key).map(([item, where]) => this.string(item, where, 'a STUN/TURN URL, as stun:stun.example.net:3478'));
          break;
        case 'peer':
          raw.peer = this.list(node, key).map(([item, where]) => this.peer(item, where));
          break;
        case 'services':
          if (!isSeq(node)) throw this.error(node, key, 'must be a list of services, as [{name: plex, listen: 0.0.0.0:32400}]');
          raw.services = node.items.map((item, i) => this.service(item as Node, `${key}[${i}]`));
          break;
        case 'drainTimeout':
        case 'idleTimeout':
          raw[key as 'drainTimeout' | 'idleTimeout'] = this.number(node, key, 'a number of seconds');
          break;
        case 'maxRateMbps':
          raw.maxRateMbps = this.number(node, key, 'a number of Mbit/s');
          break;
        case 'mtu':
          raw.mtu = this.number(node, key, 'a number of bytes');
          break;
        case 'maxStreams':
        case 'maxSessions':
        case 'maxConnsPerIp':
        case 'workers':
          raw[key as 'maxStreams' | 'maxSessions' | 'maxConnsPerIp' | 'workers'] = this.number(node, key, 'a whole number');
          break;
        case 'handshakeRate':
          raw.handshakeRate = this.number(node, key, 'a number of handshakes a second');
          break;
        case 'maxBufferMb':
          raw.maxBufferMb = this.number(node, key, 'a number of MiB');
          break;
        case 'fec': {
          const value = isScalar(node) && typeof node.value === 'boolean' ? (node.value ? 'on' : 'off') : this.string(node, key, "'on' or 'off'").value;
          raw.fec = { value, where: this.where(node, key) };
          break;
        }
      }
    }
    return raw;
  }

  /** The pairs of a mapping, with unknown and non-string keys rejected. */
  private entries(map: YAMLMap, prefix: string, known: readonly string[]): Array<[string, Node]> {
    return map.items.map((pair) => {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : '?';
      const name = `${prefix}${prefix === '' ? '' : '.'}${key}`;
      if (!known.includes(key)) throw this.error(keyNode, null, `unknown key '${name}' (known: ${known.join(', ')})`);
      return [key, (pair.value ?? keyNode) as Node];
    });
  }

  /** A string or a list of items, each with the name it goes by in errors. */
  private list(node: Node, key: string): Array<[Node, string]> {
    if (isSeq(node)) return node.items.map((item, i) => [item as Node, `${key}[${i}]`]);
    return [[node, key]];
  }

  private peer(node: Node, key: string): PeerSetting {
    if (!isMap(node)) return { address: this.address(node, key) };
    const peer: Partial<PeerSetting> = {};
    for (const [k, v] of this.entries(node, key, PEER_KEYS)) {
      if (k === 'address') peer.address = this.address(v, `${key}.address`);
      else if (k === 'backup') peer.backup = this.boolean(v, `${key}.backup`).value;
      else peer.maxRateMbps = this.number(v, `${key}.maxRateMbps`, 'a number of Mbit/s');
    }
    if (peer.address === undefined) throw this.error(node, key, "needs 'address' (host:port)");
    return peer as PeerSetting;
  }

  private service(node: Node, key: string): ServiceSetting {
    if (!isMap(node)) throw this.error(node, key, 'must be a mapping, as {name: plex, listen: 0.0.0.0:32400}');
    let name: Located<string> | undefined;
    let address: Located<string> | undefined;
    let addressKey: 'listen' | 'forward' | null = null;
    for (const [k, v] of this.entries(node, key, SERVICE_KEYS)) {
      if (k === 'name') {
        name = this.string(v, `${key}.name`, 'a name');
        continue;
      }
      if (address !== undefined) throw this.error(v, `${key}.${k}`, "a service has either 'listen' (entry relay) or 'forward' (exit relay), not both");
      address = this.address(v, `${key}.${k}`);
      addressKey = k as 'listen' | 'forward';
    }
    if (name === undefined) throw this.error(node, key, "needs a 'name'");
    if (address === undefined) throw this.error(node, key, "needs 'listen' (entry relay) or 'forward' (exit relay)");
    return { name, address, key: addressKey };
  }

  private address(node: Node, key: string): Located<string> {
    // An unquoted [v6]:port is a YAML list: say how to write it.
    const hint = isSeq(node) ? "; quote addresses that start with '[', as \"[2001:db8::1]:7000\"" : '';
    return this.string(node, key, `a host:port string${hint}`);
  }

  private string(node: Node, key: string, what: string): Located<string> {
    if (!isScalar(node) || typeof node.value !== 'string') throw this.error(node, key, `must be ${what}`);
    return { value: node.value, where: this.where(node, key) };
  }

  private number(node: Node, key: string, what: string): Located<number> {
    if (!isScalar(node) || typeof node.value !== 'number') throw this.error(node, key, `must be ${what}`);
    return { value: node.value, where: this.where(node, key) };
  }

  private boolean(node: Node, key: string): Located<boolean> {
    if (!isScalar(node) || typeof node.value !== 'boolean') throw this.error(node, key, 'must be true or false');
    return { value: node.value, where: this.where(node, key) };
  }

  private where(node: unknown, key: string | null): string {
    const range = (node as Node | null)?.range;
    const line = range === undefined || range === null ? '' : ` line ${this.lines.linePos(range[0]).line}`;
    return `config file '${this.path}'${line}${key === null ? '' : `: '${key}'`}`;
  }

  private error(node: unknown, key: string | null, message: string): CliError {
    return usageError(`${this.where(node, key)}${key === null ? ':' : ''} ${message}`);
  }
}
