/**
 * Why a FEC call was refused. Stable strings: callers and logs may match on them.
 * - `INVALID_PARAMS`: k < 1, m < 0, k + m > {@link MAX_SHARDS}, or a non-integer count.
 * - `SHARD_COUNT`: `shards`, `present` or `out` does not have the number of entries k and m imply.
 * - `SHARD_LENGTH`: shards of unequal length, a missing shard where one is required, or a length
 *   above {@link MAX_SHARD_LENGTH}.
 * - `TOO_FEW_SHARDS`: fewer than k shards present, so the group cannot be recovered (more than m
 *   erasures). Never answered with wrong bytes.
 * - `UNSUPPORTED`: the SIMD kernel was requested on an engine without WebAssembly SIMD.
 * - `ENGINE`: the wasm module refused a call the TypeScript side had validated; a bug.
 */
export type FecErrorCode =
  | 'INVALID_PARAMS'
  | 'SHARD_COUNT'
  | 'SHARD_LENGTH'
  | 'TOO_FEW_SHARDS'
  | 'UNSUPPORTED'
  | 'ENGINE';

/** Largest k + m of one group: GF(2^8) has 256 elements and the code needs k + m distinct points. */
export const MAX_SHARDS = 255;

/** Largest shard length in bytes. A datagram is far below it; it bounds scratch memory. */
export const MAX_SHARD_LENGTH = 65536;

/** The one error type thrown by src/fec. Thrown before any output is written. */
export class FecError extends Error {
  override readonly name = 'FecError';

  constructor(
    readonly code: FecErrorCode,
    message: string,
  ) {
    super(message);
  }
}
