import { checkEncode, checkReconstruct, type ReedSolomon, missingDataShards } from './codec.ts';

/**
 * Pure-TypeScript Reed-Solomon, written from the definition rather than ported from the Rust
 * kernel, so the two check each other: the test oracle for the wasm engine and the baseline of
 * `npm run bench:fec`. Produces the same bytes as the wasm engine. Too slow for the data path
 * (one table lookup per byte and coefficient, no matrix cache); use `loadFec()` there.
 */
export class ReferenceReedSolomon implements ReedSolomon {
  readonly kernel = 'reference';

  /** See {@link ReedSolomon.encode}. Cost: k * m * L table lookups. */
  encode(data: readonly Uint8Array[], m: number, out?: Uint8Array[]): Uint8Array[] {
    const len = checkEncode(data, m, out);
    const k = data.length;
    const parity = repairMatrix(k, m);
    const result = out ?? Array.from({ length: m }, () => new Uint8Array(len));
    for (let i = 0; i < m; i++) mulAdd(parity[i], data, result[i]);
    return result;
  }

  /** See {@link ReedSolomon.reconstruct}. Cost: a k x k inversion plus e * k * L lookups. */
  reconstruct(
    shards: (Uint8Array | undefined)[],
    present: readonly boolean[],
    k: number,
    m: number,
  ): number[] {
    const len = checkReconstruct(shards, present, k, m);
    const missing = missingDataShards(present, k);
    if (missing.length === 0) return missing;

    const rows: number[] = [];
    for (let i = 0; i < k + m && rows.length < k; i++) if (present[i]) rows.push(i);
    const parity = repairMatrix(k, m);
    const generator = rows.map((r) => (r < k ? unitRow(k, r) : parity[r - k]));
    const decode = invert(generator);
    const inputs = rows.map((r) => shards[r] as Uint8Array);
    const restored = missing.map((d) => {
      const shard = new Uint8Array(len);
      mulAdd(decode[d], inputs, shard);
      return shard;
    });
    missing.forEach((d, a) => {
      const slot = shards[d];
      if (slot instanceof Uint8Array && slot.length === len) slot.set(restored[a]);
      else shards[d] = restored[a];
    });
    return missing;
  }
}

/** MUL[a * 256 + b] = a * b in GF(2^8) mod x^8+x^4+x^3+x^2+1, by shift-and-add. */
const MUL = (() => {
  const t = new Uint8Array(65536);
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      let x = a;
      let y = b;
      let p = 0;
      while (y !== 0) {
        if (y & 1) p ^= x;
        x <<= 1;
        if (x & 0x100) x ^= 0x11d;
        y >>= 1;
      }
      t[a * 256 + b] = p;
    }
  }
  return t;
})();

/** INV[a] = a^-1 for a != 0, found by search over the table. */
const INV = (() => {
  const t = new Uint8Array(256);
  for (let a = 1; a < 256; a++) {
    for (let b = 1; b < 256; b++) {
      if (MUL[a * 256 + b] === 1) {
        t[a] = b;
        break;
      }
    }
  }
  return t;
})();

function mul(a: number, b: number): number {
  return MUL[a * 256 + b];
}

function unitRow(k: number, r: number): Uint8Array {
  const row = new Uint8Array(k);
  row[r] = 1;
  return row;
}

/**
 * The m x k repair matrix: the Cauchy matrix 1 / (x_i + y_j), x_i = k + i, y_j = j, with its
 * columns scaled to make row 0 all ones, then its rows scaled to make column 0 all ones.
 */
function repairMatrix(k: number, m: number): Uint8Array[] {
  const c = Array.from({ length: m }, (_, i) => {
    const row = new Uint8Array(k);
    for (let j = 0; j < k; j++) row[j] = INV[(k + i) ^ j];
    return row;
  });
  for (let j = 0; j < k && m > 0; j++) {
    const s = INV[c[0][j]];
    for (let i = 0; i < m; i++) c[i][j] = mul(c[i][j], s);
  }
  for (let i = 0; i < m; i++) {
    const s = INV[c[i][0]];
    for (let j = 0; j < k; j++) c[i][j] = mul(c[i][j], s);
  }
  return c;
}

/** Gauss-Jordan inverse of a square matrix (invertible whenever the code is MDS). */
function invert(matrix: readonly Uint8Array[]): Uint8Array[] {
  const n = matrix.length;
  const a = matrix.map((row) => Uint8Array.from(row));
  const b = Array.from({ length: n }, (_, i) => unitRow(n, i));
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (a[pivot][col] === 0) pivot++;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    [b[col], b[pivot]] = [b[pivot], b[col]];
    const s = INV[a[col][col]];
    for (let c = 0; c < n; c++) {
      a[col][c] = mul(a[col][c], s);
      b[col][c] = mul(b[col][c], s);
    }
    for (let r = 0; r < n; r++) {
      const f = a[r][col];
      if (r === col || f === 0) continue;
      for (let c = 0; c < n; c++) {
        a[r][c] ^= mul(f, a[col][c]);
        b[r][c] ^= mul(f, b[col][c]);
      }
    }
  }
  return b;
}

/** out = sum_j coef[j] * inputs[j], byte by byte. */
function mulAdd(coef: Uint8Array, inputs: readonly Uint8Array[], out: Uint8Array): void {
  out.fill(0);
  for (let j = 0; j < inputs.length; j++) {
    const table = MUL.subarray(coef[j] * 256, coef[j] * 256 + 256);
    const input = inputs[j];
    for (let x = 0; x < out.length; x++) out[x] ^= table[input[x]];
  }
}
