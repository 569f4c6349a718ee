import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

/**
 * The protocol core is sans-IO: time and randomness come in as arguments, output is pulled.
 * Any clock read, timer, socket or ambient randomness in these folders breaks determinism.
 */
const CORE_DIRS = ['src/base', 'src/session', 'src/wire', 'src/sim'];
const FORBIDDEN =
  /\b(Date\.now|new Date\(|performance\.now|Math\.random|setTimeout|setInterval|setImmediate|process\.hrtime|node:(dgram|net|tls|http|https|timers|fs|child_process))\b/;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

it('the core (session, wire, sim) never reads a clock, sets a timer, opens a socket or draws ambient randomness', () => {
  const root = new URL('../../', import.meta.url).pathname;
  const files = CORE_DIRS.flatMap((d) => tsFiles(join(root, d)));
  expect(files.length).toBeGreaterThan(10);
  for (const file of files) {
    const hit = readFileSync(file, 'utf8').match(FORBIDDEN);
    expect(hit?.[0], file).toBeUndefined();
  }
});
