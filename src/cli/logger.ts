/** Process logger: pino JSON lines on stderr (stdout stays clean for `keygen` and `demo`). */
import pino, { type Logger } from 'pino';
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
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
