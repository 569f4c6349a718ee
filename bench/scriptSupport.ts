/**
 * What the bench's stand-alone scripts (realSoak, joinProbe, simSoak) share around their runs:
 * one-line errors, checking numeric flags, and a relay key of their own that does not outlive them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** Runs a script's `main`: a bad flag or a failed run is one line on stderr and exit status 1, not a stack trace. */
export function runScript(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}

/** Throws a one-line error naming the first flag whose value is not a whole number at least its minimum. */
export function requireWholeNumbers(flags: ReadonlyArray<readonly [name: string, value: number, min: number]>): void {
  for (const [name, v, min] of flags) {
    if (!(Number.isInteger(v) && v >= min)) throw new Error(`${name}: expected a whole number >= ${min}, got ${v}`);
  }
}

/** A fresh random relay key, readable by us alone, in a temporary directory `remove` deletes. */
export function temporaryKeyFile(prefix: string): { keyFile: string; remove(): void } {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  const keyFile = join(dir, 'bering.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  return { keyFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
