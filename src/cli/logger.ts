/**
 * Process logger: pino JSON lines on stderr (stdout stays clean for `keygen` and `demo`), or
 * coloured one-line-per-event text when stderr is a terminal (a person is watching, not a
 * journal or a log shipper).
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { usageError } from './errors.ts';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * A logger at `LOG_LEVEL` (default `fallback`). Writes synchronously: bering logs life events
 * only, never per packet, and a sync stream loses nothing when the process exits.
 */
export function createLogger(fallback = 'info', env: NodeJS.ProcessEnv = process.env): Logger {
  const level = env.LOG_LEVEL?.trim().toLowerCase() || fallback;
  if (!LEVELS.includes(level)) {
    throw usageError(`LOG_LEVEL '${env.LOG_LEVEL}' is not one of ${LEVELS.join(', ')}`);
  }
  const destination = process.stderr.isTTY
    ? pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true })
    : pino.destination({ fd: 2, sync: true });
  return pino({ level, base: { pid: process.pid } }, destination);
}
