/** The pre-shared key: 32 random bytes, stored as one base64 line (`bering keygen`). */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { CliError, usageError } from './errors.ts';

/** Length of the pre-shared key in bytes. */
export const KEY_BYTES = 32;

/** A fresh key as the base64 text `bering keygen` prints. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/**
 * Writes a fresh key to a new file readable by its owner only (mode 0600 whatever the umask),
 * for `bering keygen --out FILE`. Refuses to replace an existing file: overwriting a relay's key
 * would cut it off from its peer. Throws a `CliError` saying why it could not.
 */
export function writeKeyFile(path: string): void {
  try {
    writeFileSync(path, `${generateKey()}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CliError(`'${path}' exists; refusing to overwrite a key (remove it first to replace it)`);
    const why = code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new CliError(`cannot write key file '${path}': ${why}`);
  }
}

/**
 * A one-line warning when a key file can be read by its group or by others (null when it is
 * private, or on a system without Unix modes). Anyone who can read the key can join the tunnel.
 */
export function keyFileExposure(path: string): string | null {
  if (process.platform === 'win32') return null;
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return null;
  }
  if ((mode & 0o077) === 0) return null;
  const who = (mode & 0o007) !== 0 ? 'everyone' : 'its group';
  return `key file '${path}' is readable by ${who} (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); restrict it with: chmod 600 ${path}`;
}

/**
 * Reads and checks a key file: one base64 value (surrounding whitespace ignored) that decodes to
 * exactly {@link KEY_BYTES} bytes. Throws a usage `CliError` (exit status 2) saying what is wrong with it.
 */
export function readKeyFile(path: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw usageError(`key file '${path}': cannot read it: ${why}`);
  }
  const b64 = text.trim();
  // Buffer's decoder skips characters it does not know; insist on canonical base64 instead, so a
  // truncated or mangled key is reported rather than silently turned into another key.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw usageError(`key file '${path}': not base64 (make a new one with: bering keygen --out FILE)`);
  }
  const key = Buffer.from(b64, 'base64');
  if (key.length !== KEY_BYTES) {
    throw usageError(`key file '${path}': holds ${key.length} bytes, expected ${KEY_BYTES} (make a new one with: bering keygen --out FILE)`);
  }
  return new Uint8Array(key);
}
