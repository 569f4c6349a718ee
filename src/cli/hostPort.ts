/**
 * Parsing of `H:P` arguments: `203.0.113.7:7000`, `relay.example.com:7000`, `[2001:db8::1]:7000`.
 */
import net from 'node:net';
import type { HostPort } from '../io/address.ts';
import { usageError } from './errors.ts';

/** A hostname: dot-separated labels of letters, digits and inner hyphens (RFC 1123). */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * Parses one `host:port`. `what` names the flag for the error message. Port 0 (any free port) is
 * accepted only where `allowAnyPort` is set, that is for addresses we listen on.
 * Throws a usage `CliError` naming `what` and the bad value.
 */
export function parseHostPort(text: string, what: string, allowAnyPort = false): HostPort {
  const bad = (why: string) => usageError(`${what}: bad address '${text}': ${why}`);
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw bad("missing ']' after the IPv6 address");
    host = text.slice(1, close);
    if (text[close + 1] !== ':') throw bad("expected ':port' after ']'");
    portText = text.slice(close + 2);
    if (!net.isIPv6(host)) throw bad(`'${host}' is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw bad('expected host:port');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw bad('write IPv6 addresses in brackets, as [2001:db8::1]:7000');
    if (host === '') throw bad('missing host (0.0.0.0 listens on every interface)');
    if (/^[0-9.]+$/.test(host)) {
      if (!net.isIPv4(host)) throw bad(`'${host}' is not an IPv4 address`);
    } else if (!HOSTNAME.test(host)) {
      throw bad(`'${host}' is not a valid host name`);
    }
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw bad('port must be a number from 1 to 65535');
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !allowAnyPort)) throw bad('port must be a number from 1 to 65535');
  return { host, port };
}

/** Parses a comma-separated list of `host:port` (each item as {@link parseHostPort}). */
export function parseHostPortList(text: string, what: string, allowAnyPort = false): HostPort[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw usageError(`${what}: empty address in list '${text}'`);
  return items.map((s) => parseHostPort(s, what, allowAnyPort));
}
