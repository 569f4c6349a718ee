import type { Rng } from '../base/rng.ts';

/** Production randomness from the OS CSPRNG, buffered so hot paths don't pay a syscall each. */
export const cryptoRng: Rng = (() => {
  const pool = new Uint32Array(256);
  let index = pool.length;
  const refill = (): void => {
    globalThis.crypto.getRandomValues(pool);
    index = 0;
  };
  const nextU32 = (): number => {
    if (index === pool.length) refill();
    return pool[index++];
  };
  return {
    nextU32,
    next: () => nextU32() / 4294967296,
    fill: (out: Uint8Array) => {
      globalThis.crypto.getRandomValues(out);
    },
  };
})();
