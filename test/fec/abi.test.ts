import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The C ABI of wasm/src/lib.rs must refuse, not obey, offsets outside its arena: whatever the
 * caller passes, the field tables, the stack and other memory stay intact.
 */
const ERR_ARGS = -1;
const ERR_RANGE = -2;

interface Exports {
  memory: WebAssembly.Memory;
  fec_alloc(size: number): number;
  fec_encode_matrix(k: number, m: number, out: number): number;
  fec_decode_matrix(k: number, m: number, rows: number, out: number): number;
  fec_mul(c: number, nOut: number, nIn: number, s: number, d: number, st: number, l: number): number;
}

function instantiate(file: string): Exports {
  const bytes = readFileSync(new URL(`../../wasm/${file}`, import.meta.url));
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as Exports;
}

describe.each(['fec-simd.wasm', 'fec-scalar.wasm'])('%s ABI', (file) => {
  it('refuses every pointer before an arena exists and outside it afterwards', () => {
    const w = instantiate(file);
    expect(w.fec_encode_matrix(3, 2, 0)).toBe(ERR_RANGE);
    expect(w.fec_mul(0, 1, 1, 0, 0, 16, 16)).toBe(ERR_RANGE);

    const base = w.fec_alloc(65536);
    expect(base).toBeGreaterThan(0);
    const end = w.memory.buffer.byteLength;
    const arena = new Uint8Array(w.memory.buffer, base, end - base);
    arena.fill(0xaa);
    expect(w.fec_encode_matrix(3, 2, base - 1)).toBe(ERR_RANGE);
    expect(w.fec_encode_matrix(3, 2, end - 5)).toBe(ERR_RANGE);
    expect(w.fec_decode_matrix(3, 2, end - 2, base)).toBe(ERR_RANGE);
    expect(w.fec_mul(base, 1, 2, base, 0, 1024, 1024)).toBe(ERR_RANGE);
    expect(w.fec_mul(base, 1, 2, base, end - 1023, 1024, 1024)).toBe(ERR_RANGE);
    expect(w.fec_mul(base, 1, 2, 0xfffffff0, base + 4096, 0x20000000, 16)).toBe(ERR_RANGE);
    expect(w.fec_mul(base, 3, 1, base, base + 4096, 0x80000000, 16)).toBe(ERR_RANGE);
    expect(w.fec_mul(base, 1, 3, base + 4096, base, 0x80000000, 16)).toBe(ERR_RANGE);
    expect(w.fec_mul(base, 1, 1, base, base, 16, 17)).toBe(ERR_ARGS);
    expect(w.fec_mul(base, 1, 256, base, base, 16, 16)).toBe(ERR_ARGS);
    expect(w.fec_encode_matrix(0, 2, base)).toBe(ERR_ARGS);
    expect(w.fec_encode_matrix(200, 56, base)).toBe(ERR_ARGS);
    expect(arena.every((v) => v === 0xaa)).toBe(true);
    // The field tables survived: the 3 + 2 repair matrix is still the known one.
    expect(w.fec_encode_matrix(3, 2, base)).toBe(0);
    expect([...arena.subarray(0, 6)]).toEqual([1, 1, 1, 1, 196, 83]);
  });

  it('rejects a row list that is not strictly ascending or names no erasure consistently', () => {
    const w = instantiate(file);
    const base = w.fec_alloc(65536);
    const mem = new Uint8Array(w.memory.buffer);
    const rows = base + 1024;
    mem.set([0, 2, 2], rows);
    expect(w.fec_decode_matrix(3, 2, rows, base)).toBe(ERR_ARGS);
    mem.set([0, 1, 5], rows);
    expect(w.fec_decode_matrix(3, 2, rows, base)).toBe(ERR_ARGS);
    mem.set([0, 1, 3], rows);
    expect(w.fec_decode_matrix(3, 2, rows, base)).toBe(1);
    mem.set([0, 1, 2], rows);
    expect(w.fec_decode_matrix(3, 2, rows, base)).toBe(0);
  });
});
