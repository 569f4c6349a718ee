import { readFileSync } from 'node:fs';
import { checkEncode, checkReconstruct, type ReedSolomon, missingDataShards } from './codec.ts';
import { FecError, MAX_SHARDS } from './errors.ts';

/** The C ABI of wasm/src/lib.rs. Offsets are into `memory`. */
interface FecExports {
  readonly memory: WebAssembly.Memory;
  fec_alloc(size: number): number;
  fec_encode_matrix(k: number, m: number, out: number): number;
  fec_decode_matrix(k: number, m: number, rows: number, out: number): number;
  fec_mul(
    coef: number,
    nOut: number,
    nIn: number,
    src: number,
    dst: number,
    stride: number,
    len: number,
  ): number;
}

/** Which wasm build to run: `auto` takes SIMD when the engine validates it. */
export type FecKernel = 'auto' | 'simd' | 'scalar';

/** Options of {@link loadFec}. */
export interface LoadFecOptions {
  /** Default `auto`. `simd` throws `UNSUPPORTED` on an engine without WebAssembly SIMD. */
  readonly kernel?: FecKernel;
}

/** Distinct matrices kept per engine; an entry is at most 255 * 255 bytes, usually ~100. */
const MATRIX_CACHE_ENTRIES = 512;
/** The coefficient area: room for any matrix of a group of up to 255 shards. */
const COEF_BYTES = MAX_SHARDS * MAX_SHARDS;
/** The row-index area used to describe an erasure pattern to fec_decode_matrix. */
const ROWS_BYTES = 256;
/** Shards start here in the scratch block, after the coefficient and row areas. */
const SHARDS_OFFSET = Math.ceil((COEF_BYTES + ROWS_BYTES) / 16) * 16;

const WASM_DIR = new URL('../../wasm/', import.meta.url);

let simdBytes: Uint8Array<ArrayBuffer> | undefined;
let simdValid: boolean | undefined;
const engines = new Map<'simd' | 'scalar', WasmReedSolomon>();

/**
 * True when this engine validates the SIMD build (every Node >= 16.4 does). Validating the real
 * module, not a probe, answers exactly the question that matters. Reads and validates once.
 */
export function simdSupported(): boolean {
  if (simdValid === undefined) {
    simdBytes = readFileSync(new URL('fec-simd.wasm', WASM_DIR));
    simdValid = WebAssembly.validate(simdBytes);
  }
  return simdValid;
}

/**
 * Returns the wasm Reed-Solomon engine, compiling and instantiating it on the first call for
 * each kernel (synchronously: the module is ~20 KB, a few milliseconds) and returning the same
 * instance afterwards. Call it once at startup and keep the result; later calls are a map lookup.
 * The engine is not re-entrant (one scratch area) and needs no cleanup.
 *
 * Cost on one core of the 2-core development VPS, 10 + 3 groups of 1200-byte shards, SIMD:
 * encode ~2 us per group (~6 GB/s of source data), reconstruct of 3 lost shards ~3 us; the
 * scalar kernel is ~0.8 GB/s and the TypeScript reference ~0.15 GB/s (`npm run bench:fec`).
 */
export function loadFec(options: LoadFecOptions = {}): ReedSolomon {
  const wanted = options.kernel ?? 'auto';
  const simd = simdSupported();
  if (wanted === 'simd' && !simd) {
    throw new FecError('UNSUPPORTED', 'this engine does not support WebAssembly SIMD');
  }
  const kernel = wanted === 'scalar' || !simd ? 'scalar' : 'simd';
  let engine = engines.get(kernel);
  if (engine === undefined) {
    const bytes =
      kernel === 'simd'
        ? (simdBytes as Uint8Array<ArrayBuffer>)
        : readFileSync(new URL('fec-scalar.wasm', WASM_DIR));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    engine = new WasmReedSolomon(kernel, instance.exports as unknown as FecExports);
    engines.set(kernel, engine);
  }
  return engine;
}

/** A bounded map that forgets the least recently used entry. */
class MatrixCache<K> {
  private readonly map = new Map<K, Uint8Array>();

  get(key: K): Uint8Array | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: K, value: Uint8Array): void {
    if (this.map.size >= MATRIX_CACHE_ENTRIES) {
      this.map.delete(this.map.keys().next().value as K);
    }
    this.map.set(key, value);
  }
}

/**
 * The wasm engine. Memory: one scratch block (coefficients, row indices, then k + m shard slots
 * of `stride` bytes), grown geometrically when a larger group arrives and reused otherwise, so
 * steady-state calls allocate no wasm memory. Matrices are computed by the module and cached
 * per (k, m) and per erasure pattern.
 */
class WasmReedSolomon implements ReedSolomon {
  private mem: Uint8Array;
  private scratch = 0;
  private capacity = 0;
  /** Which cached matrix currently sits in the coefficient area. */
  private loaded: Uint8Array | undefined;
  private readonly encodeCache = new MatrixCache<number>();
  private readonly decodeCache = new MatrixCache<string>();

  constructor(
    readonly kernel: 'simd' | 'scalar',
    private readonly wasm: FecExports,
  ) {
    this.mem = new Uint8Array(wasm.memory.buffer);
  }

  encode(data: readonly Uint8Array[], m: number, out?: Uint8Array[]): Uint8Array[] {
    const len = checkEncode(data, m, out);
    const result = out ?? Array.from({ length: m }, () => new Uint8Array(len));
    if (m === 0 || len === 0) return result;
    const k = data.length;
    const stride = this.reserve(k + m, len);
    const key = k * 256 + m;
    let matrix = this.encodeCache.get(key);
    if (matrix === undefined) {
      this.check(this.wasm.fec_encode_matrix(k, m, this.scratch));
      matrix = this.mem.slice(this.scratch, this.scratch + k * m);
      this.encodeCache.set(key, matrix);
      this.loaded = matrix;
    }
    this.load(matrix);
    const mem = this.mem;
    const src = this.scratch + SHARDS_OFFSET;
    for (let j = 0; j < k; j++) mem.set(data[j], src + j * stride);
    const dst = src + k * stride;
    this.check(this.wasm.fec_mul(this.scratch, m, k, src, dst, stride, len));
    for (let i = 0; i < m; i++) {
      result[i].set(mem.subarray(dst + i * stride, dst + i * stride + len));
    }
    return result;
  }

  reconstruct(
    shards: (Uint8Array | undefined)[],
    present: readonly boolean[],
    k: number,
    m: number,
  ): number[] {
    const len = checkReconstruct(shards, present, k, m);
    const missing = missingDataShards(present, k);
    if (missing.length === 0) return missing;
    const e = missing.length;

    // Inputs: the first k present slots, i.e. every received data shard, then the lowest repair
    // shards. The pattern key names the erased data and the repair rows used.
    const rows: number[] = [];
    for (let i = 0; i < k + m && rows.length < k; i++) if (present[i]) rows.push(i);
    const key = `${k}:${missing.join(',')}:${rows.slice(k - e).join(',')}`;
    const stride = this.reserve(k + e, len);
    let matrix = this.decodeCache.get(key);
    if (matrix === undefined) {
      const rowsAt = this.scratch + COEF_BYTES;
      for (let p = 0; p < k; p++) this.mem[rowsAt + p] = rows[p];
      const got = this.wasm.fec_decode_matrix(k, m, rowsAt, this.scratch);
      if (got !== e) {
        throw new FecError('ENGINE', `wasm decode matrix gave ${got} rows for ${e} erasures`);
      }
      matrix = this.mem.slice(this.scratch, this.scratch + e * k);
      this.decodeCache.set(key, matrix);
      this.loaded = matrix;
    }
    this.load(matrix);
    const mem = this.mem;
    const src = this.scratch + SHARDS_OFFSET;
    for (let p = 0; p < k; p++) mem.set(shards[rows[p]] as Uint8Array, src + p * stride);
    const dst = src + k * stride;
    if (len > 0) this.check(this.wasm.fec_mul(this.scratch, e, k, src, dst, stride, len));
    for (let a = 0; a < e; a++) {
      const restored = mem.subarray(dst + a * stride, dst + a * stride + len);
      const slot = shards[missing[a]];
      if (slot instanceof Uint8Array && slot.length === len) slot.set(restored);
      else shards[missing[a]] = restored.slice();
    }
    return missing;
  }

  /** Copies a cached matrix into the coefficient area unless it is already there. */
  private load(matrix: Uint8Array): void {
    if (this.loaded !== matrix) {
      this.mem.set(matrix, this.scratch);
      this.loaded = matrix;
    }
  }

  /** Ensures scratch room for `slots` shards of `len` bytes and returns the slot stride. */
  private reserve(slots: number, len: number): number {
    const stride = (len + 15) & ~15;
    const need = SHARDS_OFFSET + slots * stride;
    if (need > this.capacity) {
      // Doubling bounds the blocks left behind (never freed) to the size of the live one; the
      // first block already fits 16 slots of 2 KiB: any group of up to 16 datagram shards.
      const size = Math.max(need, this.capacity * 2, SHARDS_OFFSET + 16 * 2048);
      const at = this.wasm.fec_alloc(size);
      if (at === 0) throw new FecError('ENGINE', `wasm memory cannot grow by ${size} bytes`);
      this.scratch = at;
      this.capacity = size;
      this.loaded = undefined;
      this.mem = new Uint8Array(this.wasm.memory.buffer);
    }
    return stride;
  }

  private check(status: number): void {
    if (status < 0) throw new FecError('ENGINE', `wasm FEC call failed with status ${status}`);
  }
}
