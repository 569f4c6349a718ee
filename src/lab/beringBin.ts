/**
 * `bin/bering` as the bench, the tests and the demo's helpers start it: by `node` itself when they
 * add Node flags of their own (a CPU profile), with the V8 flags of its `#!` line either way, so
 * that what they measure is what a user's `bering` runs.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BERING = fileURLToPath(new URL('../../bin/bering', import.meta.url));

/** The Node flags on the `#!/usr/bin/env -S node ...` line of `bin/bering`. */
export const BERING_NODE_FLAGS: readonly string[] = readFileSync(BERING, 'utf8')
  .split('\n', 1)[0]
  .split(/\s+/)
  .filter((word) => word.startsWith('--'));

/** The arguments for `node` (`process.execPath`) that run `bering args...`, `nodeFlags` added to its own. */
export function beringNodeArgs(args: readonly string[], nodeFlags: readonly string[] = []): string[] {
  return [...BERING_NODE_FLAGS, ...nodeFlags, BERING, ...args];
}
