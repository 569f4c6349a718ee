import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

/**
 * src/fec runs inside the sans-IO session core: no clock, no randomness, no timers, no sockets.
 * Reading the committed .wasm once at load (node:fs) is its only I/O.
 */
it('src/fec uses no clock, randomness, timers or sockets', () => {
  const dir = new URL('../../src/fec/', import.meta.url);
  const forbidden =
    /\b(Date\.now|new Date|performance\.|Math\.random|setTimeout|setInterval|setImmediate|queueMicrotask|node:(dgram|net|tls|http|https|timers|crypto))\b/;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const hit = readFileSync(new URL(file, dir), 'utf8').match(forbidden);
    expect(hit?.[0], `src/fec/${file}`).toBeUndefined();
  }
});
