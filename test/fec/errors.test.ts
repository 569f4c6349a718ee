import { describe, expect, it } from 'vitest';
import {
  FecError,
  loadFec,
  ReferenceReedSolomon,
  type FecErrorCode,
  type ReedSolomon,
} from '../../src/fec/index.ts';

const implementations: ReedSolomon[] = [
  new ReferenceReedSolomon(),
  loadFec({ kernel: 'scalar' }),
  loadFec(),
];

function code(fn: () => unknown): FecErrorCode | 'no error' | 'not a FecError' {
  try {
    fn();
    return 'no error';
  } catch (err) {
    if (!(err instanceof FecError)) return 'not a FecError';
    expect(err.name).toBe('FecError');
    return err.code;
  }
}

const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);

describe.each(implementations.map((rs) => [rs.kernel, rs] as const))('%s rejects', (_, rs) => {
  it('bad k and m with INVALID_PARAMS', () => {
    expect(code(() => rs.encode([], 1))).toBe('INVALID_PARAMS');
    expect(code(() => rs.encode([bytes(4)], -1))).toBe('INVALID_PARAMS');
    expect(code(() => rs.encode([bytes(4)], 1.5))).toBe('INVALID_PARAMS');
    expect(code(() => rs.encode(Array.from({ length: 200 }, () => bytes(4)), 56))).toBe(
      'INVALID_PARAMS',
    );
    expect(code(() => rs.reconstruct([bytes(4)], [true], 0, 1))).toBe('INVALID_PARAMS');
    expect(code(() => rs.reconstruct([], [], 250, 6))).toBe('INVALID_PARAMS');
  });

  it('unequal, missing and oversized shards with SHARD_LENGTH', () => {
    expect(code(() => rs.encode([bytes(4), bytes(5)], 1))).toBe('SHARD_LENGTH');
    expect(code(() => rs.encode([bytes(4), undefined as unknown as Uint8Array], 1))).toBe(
      'SHARD_LENGTH',
    );
    expect(code(() => rs.encode([bytes(65537)], 1))).toBe('SHARD_LENGTH');
    expect(code(() => rs.encode([bytes(4)], 1, [bytes(3)]))).toBe('SHARD_LENGTH');
    expect(code(() => rs.reconstruct([undefined, bytes(4), bytes(4)], [true, true, true], 2, 1)))
      .toBe('SHARD_LENGTH');
    expect(code(() => rs.reconstruct([undefined, bytes(4), bytes(5)], [false, true, true], 2, 1)))
      .toBe('SHARD_LENGTH');
  });

  it('wrong slot counts with SHARD_COUNT', () => {
    expect(code(() => rs.encode([bytes(4)], 2, [bytes(4)]))).toBe('SHARD_COUNT');
    expect(code(() => rs.reconstruct([bytes(4), bytes(4)], [true, true], 2, 1))).toBe(
      'SHARD_COUNT',
    );
    expect(code(() => rs.reconstruct([bytes(4), bytes(4), bytes(4)], [true, true], 2, 1))).toBe(
      'SHARD_COUNT',
    );
  });

  it('more than m erasures with TOO_FEW_SHARDS, writing nothing', () => {
    const shards: (Uint8Array | undefined)[] = [bytes(4, 7), undefined, undefined, bytes(4, 9)];
    expect(code(() => rs.reconstruct(shards, [true, false, false, true], 3, 1))).toBe(
      'TOO_FEW_SHARDS',
    );
    expect(shards).toEqual([bytes(4, 7), undefined, undefined, bytes(4, 9)]);
  });
});

describe('loadFec', () => {
  it('serves the scalar kernel on request and SIMD when the engine has it', () => {
    expect(code(() => loadFec({ kernel: 'scalar' }))).toBe('no error');
    expect(code(() => loadFec({ kernel: 'simd' }))).toBe('no error');
  });
});
