import { FecError, MAX_SHARD_LENGTH, MAX_SHARDS } from './errors.ts';

/**
 * A systematic Reed-Solomon erasure code over GF(2^8): k data shards plus m repair shards, any k
 * of the k + m give back the data. All shards of one group have the same length; packets of
 * unequal length are the caller's business: pad each to the longest of its group (with zeros)
 * and carry the true lengths in the REPAIR frame, then cut the recovered shards back.
 *
 * The exact matrix (and so every repair byte) is specified in wasm/src/lib.rs; both relays must
 * produce the same bytes, and every implementation of this interface does.
 */
export interface ReedSolomon {
  /** Which implementation runs the arithmetic. */
  readonly kernel: 'simd' | 'scalar' | 'reference';

  /**
   * Computes the m repair shards of the k = `data.length` data shards (all of length L).
   * Call once per full source group, before sending its repair packets.
   * Writes into `out` when given (m buffers of length L, not overlapping `data`) and returns it;
   * otherwise returns m new buffers. Cost: k * m * L multiply-adds plus copying k * L bytes in.
   * Throws {@link FecError} on invalid arguments, before writing anything.
   */
  encode(data: readonly Uint8Array[], m: number, out?: Uint8Array[]): Uint8Array[];

  /**
   * Restores the missing data shards of a group in place. `shards` has k + m slots (data first,
   * then repair), `present[i]` says whether slot i holds a received shard; at least k must.
   * Each missing data slot (index < k) is filled: a buffer of length L already in the slot is
   * overwritten, otherwise a new one is stored there. Missing repair shards are not restored.
   * Returns the restored indices, ascending (empty when no data shard was missing, at no cost).
   * Call when a group has at least k shards and some data shard is still missing.
   * Cost: e * k * L multiply-adds for e missing data shards, plus O(e^3 + e^2 k) the first time
   * an erasure pattern is seen (the matrix is cached).
   * Throws {@link FecError} (`TOO_FEW_SHARDS` when more than m shards are missing) before
   * writing anything.
   */
  reconstruct(
    shards: (Uint8Array | undefined)[],
    present: readonly boolean[],
    k: number,
    m: number,
  ): number[];
}

/** Indices of the data shards (below k) that are not present, ascending. */
export function missingDataShards(present: readonly boolean[], k: number): number[] {
  const missing: number[] = [];
  for (let i = 0; i < k; i++) if (!present[i]) missing.push(i);
  return missing;
}

/** Checks k and m of a group; throws `INVALID_PARAMS`. */
export function checkParams(k: number, m: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 0 || k + m > MAX_SHARDS) {
    throw new FecError(
      'INVALID_PARAMS',
      `need integers k >= 1, m >= 0, k + m <= ${MAX_SHARDS}; got k=${k} m=${m}`,
    );
  }
}

/** Checks the arguments of {@link ReedSolomon.encode} and returns the shard length L. */
export function checkEncode(data: readonly Uint8Array[], m: number, out?: Uint8Array[]): number {
  checkParams(data.length, m);
  const len = shardLength(data[0], 0);
  for (let j = 1; j < data.length; j++) sameLength(data[j], j, len);
  if (out !== undefined) {
    if (out.length !== m) {
      throw new FecError('SHARD_COUNT', `out has ${out.length} buffers, expected m=${m}`);
    }
    for (let i = 0; i < m; i++) sameLength(out[i], i, len);
  }
  return len;
}

/**
 * Checks the arguments of {@link ReedSolomon.reconstruct} and returns the shard length L.
 * `TOO_FEW_SHARDS` when fewer than k slots are present.
 */
export function checkReconstruct(
  shards: readonly (Uint8Array | undefined)[],
  present: readonly boolean[],
  k: number,
  m: number,
): number {
  checkParams(k, m);
  const n = k + m;
  if (shards.length !== n || present.length !== n) {
    throw new FecError(
      'SHARD_COUNT',
      `need k + m = ${n} slots; got ${shards.length} shards and ${present.length} flags`,
    );
  }
  let len = -1;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (!present[i]) continue;
    count++;
    if (len < 0) len = shardLength(shards[i], i);
    else sameLength(shards[i], i, len);
  }
  if (count < k) {
    throw new FecError(
      'TOO_FEW_SHARDS',
      `${count} of ${n} shards present, need k=${k}: more than m=${m} erasures`,
    );
  }
  return len;
}

function shardLength(shard: Uint8Array | undefined, index: number): number {
  if (!(shard instanceof Uint8Array)) {
    throw new FecError('SHARD_LENGTH', `shard ${index} is not a Uint8Array`);
  }
  if (shard.length > MAX_SHARD_LENGTH) {
    throw new FecError(
      'SHARD_LENGTH',
      `shard ${index} has ${shard.length} bytes, more than ${MAX_SHARD_LENGTH}`,
    );
  }
  return shard.length;
}

function sameLength(shard: Uint8Array | undefined, index: number, len: number): void {
  if (!(shard instanceof Uint8Array) || shard.length !== len) {
    throw new FecError(
      'SHARD_LENGTH',
      `shard ${index} has ${shard instanceof Uint8Array ? shard.length : 'no'} bytes, expected ${len}`,
    );
  }
}
