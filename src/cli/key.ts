/** The pre-shared key: 32 random bytes, stored as one base64 line (`bering keygen`). */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { usageError } from './errors.ts';

/** Length of the pre-shared key in bytes. */
export const KEY_BYTES = 32;

/** A fresh key as the base64 text `bering keygen` prints. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
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
    throw usageError(`key file '${path}': not base64 (make one with: bering keygen > ${path})`);
  }
  const key = Buffer.from(b64, 'base64');
  if (key.length !== KEY_BYTES) {
    throw usageError(`key file '${path}': holds ${key.length} bytes, expected ${KEY_BYTES} (make one with: bering keygen > ${path})`);
  }
  return new Uint8Array(key);
}
