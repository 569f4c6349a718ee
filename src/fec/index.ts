/**
 * The FEC engine: systematic Reed-Solomon over GF(2^8) in Rust compiled to wasm32 (wasm/), with
 * a pure-TypeScript reference. Synchronous and sans-IO apart from reading the committed .wasm
 * file once at load. Typical use: `const rs = loadFec();` at startup, then `rs.encode(...)` per
 * source group and `rs.reconstruct(...)` per group that lost data shards.
 */
export type { ReedSolomon } from './codec.ts';
export { FecError, MAX_SHARD_LENGTH, MAX_SHARDS, type FecErrorCode } from './errors.ts';
export { ReferenceReedSolomon } from './reference.ts';
export { loadFec, simdSupported, type FecKernel, type LoadFecOptions } from './wasm.ts';
