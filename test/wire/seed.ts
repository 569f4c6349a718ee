/**
 * Seeded randomness for wire tests. Each randomized test gets its own SeededRng; the seed comes
 * from BERING_SEED when set (to reproduce a failure) and is otherwise fresh per run. A failure's
 * message starts with the seed and the command line that reproduces it.
 */
import { SeededRng } from '../../src/base/rng.ts';

const fixed = process.env.BERING_SEED;

/** Wraps a test body: runs it with a seeded Rng and prefixes any failure with the seed. */
export function seeded(body: (rng: SeededRng) => void): () => void {
  return () => {
    const seed = fixed !== undefined ? Number(fixed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
    try {
      body(new SeededRng(seed));
    } catch (e) {
      if (e instanceof Error) e.message = `[seed ${seed}: rerun with BERING_SEED=${seed}] ${e.message}`;
      throw e;
    }
  };
}

/** Uniform integer in [lo, hi], both inclusive, for hi - lo < 2^53. */
export function int(rng: SeededRng, lo: number, hi: number): number {
  const span = hi - lo + 1;
  if (span <= 2 ** 32) return lo + Math.floor(rng.next() * span);
  const r = (rng.nextU32() * 2 ** 21 + (rng.nextU32() >>> 11)) / 2 ** 53;
  return Math.min(hi, lo + Math.floor(r * span));
}

/** An integer whose magnitude class is random too, so every varint length gets exercised. */
export function anyU53(rng: SeededRng): number {
  const bits = int(rng, 0, 53);
  return bits === 0 ? 0 : int(rng, 2 ** (bits - 1), 2 ** bits - 1);
}

/** `n` random bytes. */
export function bytes(rng: SeededRng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  rng.fill(b);
  return b;
}
