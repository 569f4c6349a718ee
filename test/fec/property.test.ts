import { describe, expect, it } from 'vitest';
import { FecError, loadFec, ReferenceReedSolomon, type ReedSolomon } from '../../src/fec/index.ts';
import { SeededRng } from '../../src/base/rng.ts';

/** FEC_SEED=<n> FEC_CASES=<n> reproduce or widen a run; a failure names the case's seed. */
const BASE_SEED = Number(process.env.FEC_SEED ?? 20240601);
const CASES = Number(process.env.FEC_CASES ?? 300);

const reference = new ReferenceReedSolomon();
const engines: ReedSolomon[] = [loadFec({ kernel: 'scalar' }), loadFec()];

function randomShards(rng: SeededRng, count: number, len: number): Uint8Array[] {
  return Array.from({ length: count }, () => {
    const d = new Uint8Array(len);
    rng.fill(d);
    return d;
  });
}

function int(rng: SeededRng, lo: number, hi: number): number {
  return lo + (rng.nextU32() % (hi - lo + 1));
}

/** Chooses `count` distinct indices below n (partial Fisher-Yates). */
function pick(rng: SeededRng, n: number, count: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + (rng.nextU32() % (n - i));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, count);
}

/**
 * Fails with the first differing shard and byte. vitest's deep equality walks typed arrays
 * element by element and would dominate the run time.
 */
function assertShards(
  actual: readonly (Uint8Array | undefined)[],
  expected: readonly Uint8Array[],
  label: string,
): void {
  expect(actual.length, `${label}: shard count`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(a instanceof Uint8Array) || a.length !== e.length) {
      throw new Error(`${label}: shard ${i} has ${a?.length ?? 'no'} bytes, expected ${e.length}`);
    }
    if (Buffer.compare(a, e) !== 0) {
      const at = a.findIndex((v, x) => v !== e[x]);
      throw new Error(`${label}: shard ${i} byte ${at} is ${a[at]}, expected ${e[at]}`);
    }
  }
}

/** Runs one randomized case; rethrows with what `note` last described and the seed. */
function runCase(seed: number, body: (rng: SeededRng, note: (what: string) => void) => void): void {
  let label = '';
  try {
    body(new SeededRng(seed), (what) => {
      label = what;
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`case failed (${label}); reproduce with FEC_SEED=${seed} FEC_CASES=1: ${msg}`);
  }
}

describe('Reed-Solomon property: wasm == reference, any k of k+m recover', () => {
  it(`holds for ${CASES} random groups and erasure patterns (seed ${BASE_SEED})`, () => {
    for (let c = 0; c < CASES; c++) {
      runCase(BASE_SEED + c, (rng, note) => {
        const k = int(rng, 1, 64);
        const m = int(rng, 1, 32);
        const len = int(rng, 1, 1500);
        note(`k=${k} m=${m} len=${len}`);
        const data = randomShards(rng, k, len);
        const parity = reference.encode(data, m);
        for (const rs of engines) {
          assertShards(rs.encode(data, m), parity, `${rs.kernel} encode`);
        }

        const lost = pick(rng, k + m, int(rng, 0, m));
        note(`k=${k} m=${m} len=${len} lost=[${lost}]`);
        const present = Array.from({ length: k + m }, (_, i) => !lost.includes(i));
        const expectedRestored = lost.filter((i) => i < k).sort((a, b) => a - b);
        for (const rs of [reference, ...engines]) {
          const shards: (Uint8Array | undefined)[] = [...data, ...parity].map((s, i) =>
            present[i] ? s.slice() : undefined,
          );
          expect(rs.reconstruct(shards, present, k, m), `${rs.kernel} restored`).toEqual(
            expectedRestored,
          );
          assertShards(shards.slice(0, k), data, `${rs.kernel} reconstruct`);
        }

        const tooMany = pick(rng, k + m, m + 1);
        const few = Array.from({ length: k + m }, (_, i) => !tooMany.includes(i));
        for (const rs of [reference, ...engines]) {
          const shards = [...data, ...parity].map((s) => s.slice());
          const before = shards.map((s) => s.slice());
          expect(() => rs.reconstruct(shards, few, k, m)).toThrow(FecError);
          assertShards(shards, before, `${rs.kernel} left shards untouched`);
        }
      });
    }
  });

  it('is MDS: every pattern of up to m erasures recovers (10+3, 5+5, 1+4, 20+2)', () => {
    const rng = new SeededRng(7);
    for (const [k, m] of [
      [10, 3],
      [5, 5],
      [1, 4],
      [20, 2],
    ]) {
      const data = randomShards(rng, k, 17);
      const parity = loadFec().encode(data, m);
      const n = k + m;
      for (let mask = 0; mask < 1 << n; mask++) {
        let lost = 0;
        for (let b = mask; b; b &= b - 1) lost++;
        if (lost > m) continue;
        const present = Array.from({ length: n }, (_, i) => (mask & (1 << i)) === 0);
        const shards: (Uint8Array | undefined)[] = [...data, ...parity].map((s, i) =>
          present[i] ? s : undefined,
        );
        loadFec().reconstruct(shards, present, k, m);
        assertShards(shards.slice(0, k), data, `k=${k} m=${m} mask=${mask}`);
      }
    }
  });

  it('handles the extremes: k + m = 255, 127 erasures, 64 KiB shards, k = 1', () => {
    const rng = new SeededRng(11);
    for (const [k, m, len, lose] of [
      [128, 127, 33, 127],
      [200, 55, 40, 55],
      [1, 254, 5, 1],
      [3, 2, 65536, 2],
    ]) {
      const data = randomShards(rng, k, len);
      const parity = reference.encode(data, m);
      for (const rs of engines) {
        assertShards(rs.encode(data, m), parity, `${rs.kernel} k=${k} m=${m}`);
        const present = Array.from({ length: k + m }, (_, i) => i >= lose);
        const shards: (Uint8Array | undefined)[] = [...data, ...parity].map((s, i) =>
          present[i] ? s : undefined,
        );
        rs.reconstruct(shards, present, k, m);
        assertShards(shards.slice(0, k), data, `${rs.kernel} k=${k} m=${m} reconstruct`);
      }
    }
  });
});

describe('Reed-Solomon wire format', () => {
  it('matches the known answer computed independently from the matrix definition', () => {
    const data = [
      Uint8Array.of(0x00, 0x01, 0x02, 0x03),
      Uint8Array.of(0x10, 0x20, 0x30, 0x40),
      Uint8Array.of(0xff, 0x80, 0x7f, 0x55),
    ];
    const expected = [
      Uint8Array.of(0xef, 0xa1, 0x4d, 0x16),
      Uint8Array.of(0xba, 0x56, 0xef, 0x76),
    ];
    expect(reference.encode(data, 2)).toEqual(expected);
    for (const rs of engines) expect(rs.encode(data, 2), rs.kernel).toEqual(expected);
  });

  it('makes repair 0 the XOR of the data, and k = 1 repairs copies of the data', () => {
    const rng = new SeededRng(3);
    const data = randomShards(rng, 6, 100);
    const xor = new Uint8Array(100);
    for (const d of data) for (let i = 0; i < 100; i++) xor[i] ^= d[i];
    expect(loadFec().encode(data, 3)[0]).toEqual(xor);
    expect(loadFec().encode([data[0]], 3)).toEqual([data[0], data[0], data[0]]);
  });
});

describe('Reed-Solomon buffers', () => {
  it('writes into caller buffers: out for encode, same-length slots for reconstruct', () => {
    const rs = loadFec();
    const data = randomShards(new SeededRng(5), 4, 64);
    const out = [new Uint8Array(64), new Uint8Array(64)];
    expect(rs.encode(data, 2, out)).toBe(out);
    expect(out).toEqual(reference.encode(data, 2));

    const slot = new Uint8Array(64);
    const shards: (Uint8Array | undefined)[] = [slot, new Uint8Array(3), data[2], data[3], ...out];
    const present = [false, false, true, true, true, true];
    expect(rs.reconstruct(shards, present, 4, 2)).toEqual([0, 1]);
    expect(shards[0]).toBe(slot);
    expect(slot).toEqual(data[0]);
    expect(shards[1]).toEqual(data[1]);
  });

  it('returns [] without work when no data shard is missing, and encodes m = 0 and L = 0', () => {
    const rs = loadFec();
    const data = randomShards(new SeededRng(6), 3, 10);
    expect(rs.reconstruct([...data, undefined], [true, true, true, false], 3, 1)).toEqual([]);
    expect(rs.encode(data, 0)).toEqual([]);
    expect(rs.encode([new Uint8Array(0), new Uint8Array(0)], 2)).toEqual([
      new Uint8Array(0),
      new Uint8Array(0),
    ]);
  });

  it('keeps results independent of scratch reuse and memory growth across group sizes', () => {
    const rs = loadFec();
    const rng = new SeededRng(9);
    for (const [k, m, len] of [
      [2, 1, 10],
      [100, 100, 3000],
      [2, 1, 10],
      [10, 3, 1200],
    ]) {
      const data = randomShards(rng, k, len);
      const parity = rs.encode(data, m);
      assertShards(parity, reference.encode(data, m), `k=${k} m=${m} len=${len} encode`);
      const shards: (Uint8Array | undefined)[] = [...data, ...parity];
      const present = shards.map((_, i) => i >= m);
      rs.reconstruct(shards, present, k, m);
      assertShards(shards.slice(0, k), data, `k=${k} m=${m} len=${len} reconstruct`);
    }
  });

  it('returns one engine per kernel and prefers SIMD on Node 20', () => {
    expect(loadFec()).toBe(loadFec({ kernel: 'auto' }));
    expect(loadFec().kernel).toBe('simd');
    expect(loadFec({ kernel: 'scalar' }).kernel).toBe('scalar');
  });
});
