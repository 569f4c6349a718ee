/**
 * `bering relay` settings: flags, an optional `--config` file with the same settings and more
 * (config.ts), flags overriding the file key by key, then validation into a typed
 * {@link RelaySettings}. Every error names the flag, or the key with its file and line.
 */
import { parseArgs } from 'node:util';
import type { HostPort } from '../io/address.ts';
import type { PeerAddress } from '../io/peerDialer.ts';
import { DEFAULT_SESSION_CONFIG, type PathOptions, type SessionConfig } from '../session/config.ts';
import type { ListenerLimits } from '../relay/startRelay.ts';
import { usageError } from './errors.ts';
import { loadConfigFile, type Located, type RawSettings } from './config.ts';
import { parseHostPort, parseHostPortList } from './hostPort.ts';
import { readKeyFile } from './key.ts';

/** The relay flags, as `node:util` parseArgs options; each has a config file key (config.ts). */
export const RELAY_FLAGS = {
  'tcp-listen': { type: 'string' },
  'udp-listen': { type: 'string', multiple: true },
  peer: { type: 'string', multiple: true },
  forward: { type: 'string' },
  service: { type: 'string', multiple: true },
  'key-file': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'max-rate-mbps': { type: 'string' },
  mtu: { type: 'string' },
  'max-streams': { type: 'string' },
  'max-sessions': { type: 'string' },
  'max-conns-per-ip': { type: 'string' },
  'handshake-rate': { type: 'string' },
  'max-buffer-mb': { type: 'string' },
  workers: { type: 'string' },
  metrics: { type: 'string' },
  fec: { type: 'string' },
  'webrtc-listen': { type: 'string' },
  stun: { type: 'string', multiple: true },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * `--mtu` bounds. Below 1024 the per-packet overhead (12-byte header, 16-byte tag, frame
 * headers) costs over 3%; above 1404 a repair packet (mtu + 48) no longer fits a 1500-byte
 * Ethernet frame over IPv6 (48 bytes of IPv6 and UDP headers) and would be fragmented.
 */
export const MTU_MIN = 1024;
export const MTU_MAX = 1404;

export const RELAY_USAGE = `Usage:
  bering relay --udp-listen H:P[,H:P...] --forward H:P --key-file F      (exit relay, next to the service)
  bering relay --tcp-listen H:P --peer H:P[,H:P...] --key-file F         (entry relay, next to the viewers)
  bering relay --config FILE                                             (the same from a YAML or JSON file)

Either relay may dial: an exit relay behind NAT (a home Plex box) can dial out with --peer to an
entry relay that listens with --udp-listen. --tcp-listen/--forward pick the TCP side, --peer/--udp-listen
pick who dials.

Options:
  --tcp-listen H:P         accept viewers' TCP connections here (entry relay)
  --peer H:P[,H:P...]      the exit relay's UDP address(es); each one is a path (entry relay).
                           webrtc://H:P is a WebRTC path to the exit relay's --webrtc-listen
  --udp-listen H:P[,...]   accept the entry relay's UDP paths here (exit relay)
  --webrtc-listen H:P      accept WebRTC paths: signalling on TCP H:P, ICE on UDP H:P (exit relay)
  --stun URL[,URL...]      STUN/TURN servers for WebRTC paths behind NAT, as stun:HOST:PORT or
                           turn:USER:PASS@HOST:PORT (default: none, host addresses only)
  --forward H:P            the service each connection is forwarded to (exit relay)
  --service NAME=H:P       a named service (repeatable): on the entry relay, listen on H:P for it;
                           on the exit relay, forward its connections to H:P
  --key-file F             shared key made by 'bering keygen' (the same file on both relays)
  --metrics H:P            serve a dashboard (/), /metrics (Prometheus), /healthz and /status
                           over HTTP here
  --drain-timeout SECONDS  on SIGTERM/SIGINT, let open connections finish this long (default 10)
  --idle-timeout SECONDS   declare the tunnel dead after this long without a packet (default 8)
  --max-rate-mbps MBPS     never send faster than this on any path (default: no ceiling)
  --mtu BYTES              largest UDP payload of a data packet, ${MTU_MIN}-${MTU_MAX} (default 1350; FEC
                           repair packets are up to 48 bytes larger)
  --fec on|off             send forward error correction repairs, sized to the measured loss
                           (default on; off still repairs with what the other relay sends)
  --max-streams N          carry at most N streams at once; more are reset (default 1024)
  --max-sessions N         accept at most N tunnel sessions at once (exit relay; default 256)
  --max-conns-per-ip N     accept at most N TCP connections at once from one address; more are
                           reset (entry relay; default 64)
  --handshake-rate N       answer at most N handshakes a second, in bursts of 2N (exit relay; default 20)
  --max-buffer-mb MIB      stream data each session may hold, both directions (default 128)
  --workers N              run sessions on N worker threads, one core each, the main thread
                           reading and writing the UDP sockets (exit relay with --udp-listen;
                           default 0: everything on one thread). Session, stream and handshake
                           limits are split evenly between the workers
  --config FILE            read settings from FILE (.yaml, .yml or .json); flags given too win.
                           Keys are the flag names in camelCase, and 'services' and per-path
                           options; see contrib/entry.yaml and contrib/exit.yaml. A relative
                           keyFile in FILE is relative to FILE's folder
  -h, --help               show this help

H:P is host:port, with IPv6 in brackets: [2001:db8::1]:7000. LOG_LEVEL sets the log level (info).`;

/** The settings a relay runs with, checked and typed. */
export interface RelaySettings {
  /** The TCP side: entry accepts viewers, exit connects to the service. Who dials is separate. */
  role: 'entry' | 'exit';
  /** Entry relay: where viewers of the unnamed service connect. */
  tcpListen?: HostPort;
  /** Entry relay: the exit relay's UDP addresses (or WebRTC signalling endpoints), one path each. */
  peers?: PeerAddress[];
  /** Exit relay: UDP addresses to accept paths on (none when it takes WebRTC paths only). */
  udpListen?: HostPort[];
  /** Exit relay: the WebRTC signalling endpoint (TCP), with ICE on UDP at the same address. */
  webrtcListen?: HostPort;
  /** STUN/TURN server URLs for WebRTC paths. */
  stunServers: string[];
  /** Exit relay: the unnamed service. */
  forward?: HostPort;
  /** Named services: listen addresses on the entry relay, targets on the exit relay. */
  services: Array<{ name: string; address: HostPort }>;
  psk: Uint8Array;
  /** Where the key came from (the relay warns when others can read it). */
  keyFile: string;
  drainTimeoutMs: number;
  /** Where to serve the metrics endpoint; none when absent. */
  metrics?: HostPort;
  /** Tunables handed to the tunnel core (only those the user set). */
  session: Partial<SessionConfig>;
  /** Streams the relay carries at once (`--max-streams`), when set. */
  maxStreams?: number;
  /** Entry: TCP connections one address may hold at once (`--max-conns-per-ip`), when set. */
  maxConnsPerIp?: number;
  /** A listening relay's handshake limits (`--max-sessions`, `--handshake-rate`), those set. */
  listener: ListenerLimits;
  /** Worker threads that run the sessions (`--workers`); 0: all on the main thread. */
  workers: number;
}

/** `--workers` at most: beyond a few the main thread's socket work is the limit anyway. */
export const MAX_WORKERS = 32;


/** A service name: what the entry relay sends in each stream open and the exit relay looks up. */
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Parses `bering relay` arguments; returns null when `--help` was asked for. */
export function parseRelayArgs(args: string[]): RelaySettings | null {
  const { values } = parseStrict(args, RELAY_FLAGS);
  if (values.help) return null;
  const flag = (name: string, value: string | undefined): Located<string> | undefined =>
    value === undefined ? undefined : { value, where: `--${name}` };
  const seconds = (name: string, value: string | undefined): Located<number> | undefined =>
    value === undefined ? undefined : { value: parseNumber(value, `--${name}`, 'a number of seconds'), where: `--${name}` };
  const counted = (name: string, value: string | undefined, unit: string): Located<number> | undefined =>
    value === undefined ? undefined : { value: parseNumber(value, `--${name}`, unit), where: `--${name}` };
  const fromFlags: RawSettings = {
    tcpListen: flag('tcp-listen', values['tcp-listen']),
    udpListen: values['udp-listen']?.map((v) => ({ value: v, where: '--udp-listen' })),
    peer: values.peer?.map((v) => ({ address: { value: v, where: '--peer' } })),
    forward: flag('forward', values.forward),
    services: values.service?.map(parseServiceFlag),
    keyFile: flag('key-file', values['key-file']),
    drainTimeout: seconds('drain-timeout', values['drain-timeout']),
    idleTimeout: seconds('idle-timeout', values['idle-timeout']),
    maxRateMbps:
      values['max-rate-mbps'] === undefined
        ? undefined
        : { value: parseNumber(values['max-rate-mbps'], '--max-rate-mbps', 'a number of Mbit/s'), where: '--max-rate-mbps' },
    mtu: counted('mtu', values.mtu, 'a number of bytes'),
    maxStreams: counted('max-streams', values['max-streams'], 'a whole number'),
    maxSessions: counted('max-sessions', values['max-sessions'], 'a whole number'),
    maxConnsPerIp: counted('max-conns-per-ip', values['max-conns-per-ip'], 'a whole number'),
    handshakeRate: counted('handshake-rate', values['handshake-rate'], 'a number of handshakes a second'),
    maxBufferMb: counted('max-buffer-mb', values['max-buffer-mb'], 'a number of MiB'),
    workers: counted('workers', values.workers, 'a whole number'),
    metrics: flag('metrics', values.metrics),
    fec: flag('fec', values.fec),
    webrtcListen: flag('webrtc-listen', values['webrtc-listen']),
    stun: values.stun?.map((v) => ({ value: v, where: '--stun' })),
  };
  const merged: RawSettings = values.config === undefined ? {} : loadConfigFile(values.config);
  for (const [key, value] of Object.entries(fromFlags)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return validate(merged);
}

/** `--service NAME=H:P`. */
function parseServiceFlag(text: string): NonNullable<RawSettings['services']>[number] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usageError(`--service: '${text}' is not NAME=H:P (as plex=0.0.0.0:32400)`);
  return {
    name: { value: text.slice(0, eq), where: '--service' },
    address: { value: text.slice(eq + 1), where: `--service ${text.slice(0, eq)}` },
    key: null,
  };
}

function validate(raw: RawSettings): RelaySettings {
  const services = raw.services ?? [];
  // The TCP side (entry: accept viewers; exit: connect to the service) and the transport side
  // (dial with --peer, or listen) are independent choices.
  const entryTcp = raw.tcpListen !== undefined || services.some((s) => s.key === 'listen');
  const exitTcp = raw.forward !== undefined || services.some((s) => s.key === 'forward');
  const dialing = raw.peer !== undefined;
  const listening = raw.udpListen !== undefined || raw.webrtcListen !== undefined;
  if (entryTcp && exitTcp) {
    const exitWhere = raw.forward?.where ?? services.find((s) => s.key === 'forward')!.address.where;
    const entryWhere = raw.tcpListen?.where ?? services.find((s) => s.key === 'listen')!.address.where;
    throw usageError(`${exitWhere} belongs to the exit relay, not with ${entryWhere} (the entry relay)`);
  }
  if (dialing && listening) {
    const listenFlag = raw.udpListen?.[0].where ?? raw.webrtcListen!.where;
    throw usageError(`give either --peer (dial the other relay) or ${listenFlag} (wait for it), not both`);
  }
  if (!dialing && !listening) {
    // Say what the half-given relay lacks rather than start over from the roles.
    if (entryTcp) {
      throw usageError(
        `${raw.tcpListen?.where ?? 'services'} makes an entry relay: give --peer H:P[,H:P...] (the exit relay's UDP addresses), or --udp-listen H:P to wait for an exit relay that dials`,
      );
    }
    if (exitTcp) {
      throw usageError(
        `${raw.forward?.where ?? 'services'} makes an exit relay: give --udp-listen H:P[,H:P...] (where the entry relay's paths arrive), or --peer H:P to dial an entry relay`,
      );
    }
    throw usageError('give --tcp-listen (entry relay) or --udp-listen (exit relay); see bering relay --help');
  }
  // Unkeyed --service flags take their role from the transport, as the classic pairings do.
  const entry = entryTcp || (!exitTcp && dialing);
  if (raw.keyFile === undefined) throw usageError('--key-file is required (make a key with: bering keygen --out bering.key)');
  const settings: RelaySettings = {
    role: entry ? 'entry' : 'exit',
    services: [],
    psk: new Uint8Array(0),
    keyFile: raw.keyFile.value,
    drainTimeoutMs: nonNegative(raw.drainTimeout, 10) * 1000,
    stunServers: [],
    session: {},
    listener: {},
    workers: 0,
  };
  if (entry) {
    if (raw.tcpListen === undefined && services.length === 0) throw usageError('the entry relay needs --tcp-listen or services to listen for');
    if (raw.tcpListen !== undefined) settings.tcpListen = parseHostPort(raw.tcpListen.value, raw.tcpListen.where, true);
  } else {
    if (raw.forward === undefined && services.length === 0) {
      throw usageError('the exit relay needs --forward, the service address (or services in a config file)');
    }
    if (raw.forward !== undefined) settings.forward = parseHostPort(raw.forward.value, raw.forward.where);
  }
  if (dialing) {
    settings.peers = [];
    const paths: PathOptions[] = [];
    for (const p of raw.peer!) {
      for (const address of parsePeerList(p.address.value, p.address.where)) {
        settings.peers.push(address);
        const options: PathOptions = {};
        if (p.backup !== undefined) options.backup = p.backup;
        if (p.maxRateMbps !== undefined) options.maxRateMbps = positive(p.maxRateMbps);
        paths.push(options);
      }
    }
    if (settings.peers.length > 256) throw usageError('--peer: at most 256 paths');
    if (paths.some((o) => Object.keys(o).length > 0)) settings.session.paths = paths;
  } else {
    settings.udpListen = (raw.udpListen ?? []).flatMap((a) => parseHostPortList(a.value, a.where, true));
    if (raw.webrtcListen !== undefined) settings.webrtcListen = parseHostPort(raw.webrtcListen.value, raw.webrtcListen.where, true);
  }
  const names = new Set<string>();
  for (const s of services) {
    const want = entry ? 'listen' : 'forward';
    if (s.key !== null && s.key !== want) {
      throw usageError(`${s.address.where}: ${entry ? "an entry relay's services take 'listen'" : "an exit relay's services take 'forward'"}, not '${s.key}'`);
    }
    if (!SERVICE_NAME.test(s.name.value)) {
      throw usageError(`${s.name.where}: bad service name '${s.name.value}' (letters, digits, '.', '_', '-'; at most 64)`);
    }
    if (names.has(s.name.value)) throw usageError(`${s.name.where}: service '${s.name.value}' is given twice`);
    names.add(s.name.value);
    settings.services.push({ name: s.name.value, address: parseHostPort(s.address.value, s.address.where, entry) });
  }
  if (raw.metrics !== undefined) settings.metrics = parseHostPort(raw.metrics.value, raw.metrics.where, true);
  for (const item of raw.stun ?? []) settings.stunServers.push(...parseStunList(item));
  if (settings.stunServers.length > 0 && settings.webrtcListen === undefined && !(settings.peers ?? []).some((p) => p.webrtc === true)) {
    throw usageError(`${raw.stun![0].where}: STUN servers serve WebRTC paths only; give a webrtc:// peer or --webrtc-listen`);
  }
  if (raw.idleTimeout !== undefined) {
    if (raw.idleTimeout.value < 1) throw usageError(`${raw.idleTimeout.where}: the idle timeout must be at least 1 second`);
    settings.session.idleTimeoutMs = raw.idleTimeout.value * 1000;
  }
  if (raw.maxRateMbps !== undefined) settings.session.maxRateMbps = positive(raw.maxRateMbps);
  if (raw.mtu !== undefined) {
    const { value, where } = raw.mtu;
    if (!Number.isInteger(value) || value < MTU_MIN || value > MTU_MAX) throw usageError(`${where}: must be a whole number of bytes from ${MTU_MIN} to ${MTU_MAX}`);
    settings.session.mtu = value;
  }
  if (raw.fec !== undefined) {
    if (raw.fec.value !== 'on' && raw.fec.value !== 'off') throw usageError(`${raw.fec.where}: '${raw.fec.value}' is not 'on' or 'off'`);
    settings.session.fec = raw.fec.value === 'on';
  }
  applyLimits(raw, settings);
  if (raw.workers !== undefined) settings.workers = workerCount(raw.workers, settings);
  try {
    settings.psk = readKeyFile(raw.keyFile.value);
  } catch (err) {
    throw usageError(`${raw.keyFile.where}: ${(err as Error).message}`);
  }
  return settings;
}

/** `--peer` items: `H:P` (a UDP path) or `webrtc://H:P` (a WebRTC path via that signalling endpoint). */
function parsePeerList(text: string, what: string): PeerAddress[] {
  return text.split(',').map((item): PeerAddress => {
    const s = item.trim();
    if (s === '') throw usageError(`${what}: empty address in list '${text}'`);
    if (s.startsWith('webrtc://')) return { ...parseHostPort(s.slice('webrtc://'.length), what), webrtc: true };
    if (s.includes('://')) throw usageError(`${what}: unknown path kind in '${s}' (write H:P for UDP, webrtc://H:P for WebRTC)`);
    return parseHostPort(s, what);
  });
}

/** `--stun` items: libdatachannel's ICE server URLs. */
function parseStunList(item: Located<string>): string[] {
  return item.value.split(',').map((u) => {
    const url = u.trim();
    if (!/^(stun|turns?):[^\s]+:[0-9]{1,5}(\?.*)?$/.test(url)) {
      throw usageError(`${item.where}: bad STUN/TURN server '${url}' (write stun:HOST:PORT or turn:USER:PASS@HOST:PORT)`);
    }
    return url;
  });
}

/**
 * The limits of issue 8. `--max-streams` caps the relay and, in the core, each session's peer;
 * `--max-buffer-mb` splits into each session's receive window and send buffer (stream windows no
 * larger than those), which bounds what a slow reader or writer makes the relay hold.
 */
function applyLimits(raw: RawSettings, settings: RelaySettings): void {
  const whole = (setting: Located<number>): number => {
    if (!Number.isInteger(setting.value) || setting.value < 1) throw usageError(`${setting.where}: must be a whole number, at least 1`);
    return setting.value;
  };
  if (raw.maxStreams !== undefined) {
    settings.maxStreams = whole(raw.maxStreams);
    settings.session.maxStreams = settings.maxStreams;
  }
  if (raw.maxSessions !== undefined) settings.listener.maxSessions = whole(raw.maxSessions);
  if (raw.maxConnsPerIp !== undefined) settings.maxConnsPerIp = whole(raw.maxConnsPerIp);
  if (raw.handshakeRate !== undefined) {
    const perSecond = positive(raw.handshakeRate);
    settings.listener.handshakeRate = { perSecond, burst: Math.max(1, Math.ceil(2 * perSecond)) };
  }
  if (raw.maxBufferMb !== undefined) {
    if (!(raw.maxBufferMb.value >= 1) || !Number.isFinite(raw.maxBufferMb.value)) throw usageError(`${raw.maxBufferMb.where}: must be at least 1 (MiB)`);
    const half = Math.floor((raw.maxBufferMb.value * 1048576) / 2);
    settings.session.sessionWindowBytes = half;
    settings.session.sessionSendBufferBytes = half;
    settings.session.streamWindowBytes = Math.min(DEFAULT_SESSION_CONFIG.streamWindowBytes, half);
    settings.session.streamSendBufferBytes = Math.min(DEFAULT_SESSION_CONFIG.streamSendBufferBytes, half);
  }
}

/**
 * `--workers`: only where the sessions can run apart from the sockets' thread. An exit relay's
 * worker opens its own TCP connections; an entry relay's viewers arrive on one TCP listener, and a
 * WebRTC path's channel lives in the thread that made it.
 */
function workerCount(setting: Located<number>, settings: RelaySettings): number {
  const { value, where } = setting;
  if (!Number.isInteger(value) || value < 0 || value > MAX_WORKERS) throw usageError(`${where}: must be a whole number from 0 to ${MAX_WORKERS}`);
  if (value === 0) return 0;
  if (settings.role !== 'exit' || settings.udpListen === undefined || settings.udpListen.length === 0) {
    throw usageError(`${where}: worker threads run a listening exit relay's sessions (--udp-listen with --forward or services)`);
  }
  if (settings.webrtcListen !== undefined) throw usageError(`${where}: not with --webrtc-listen (WebRTC paths run on the main thread); give one or the other`);
  return value;
}

function parseNumber(text: string, what: string, unit: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw usageError(`${what}: '${text}' is not ${unit}`);
  return n;
}

function nonNegative(setting: Located<number> | undefined, fallback: number): number {
  if (setting === undefined) return fallback;
  if (!(setting.value >= 0) || !Number.isFinite(setting.value)) throw usageError(`${setting.where}: must not be negative`);
  return setting.value;
}

function positive(setting: Located<number>): number {
  if (!(setting.value > 0) || !Number.isFinite(setting.value)) throw usageError(`${setting.where}: must be more than 0`);
  return setting.value;
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
