/**
 * A datagram as an FEC symbol: [length u16][datagram][zero padding to the group's symbol
 * length]. Carrying the length inside the symbol means a restored symbol says how long its
 * datagram was, with no separate length list in REPAIR frames.
 */
export const SHARD_PREFIX = 2;

/** Writes `datagram` as a symbol of `shardLength` bytes into `out` (zero-padded). */
export function writeShard(out: Uint8Array, datagram: Uint8Array, shardLength: number): void {
  out[0] = datagram.length >>> 8;
  out[1] = datagram.length & 0xff;
  out.set(datagram, SHARD_PREFIX);
  out.fill(0, SHARD_PREFIX + datagram.length, shardLength);
}

/** The datagram inside a restored symbol, or null when its length field cannot be right. */
export function readShard(shard: Uint8Array): Uint8Array | null {
  const length = (shard[0] << 8) | shard[1];
  if (length === 0 || SHARD_PREFIX + length > shard.length) return null;
  return shard.subarray(SHARD_PREFIX, SHARD_PREFIX + length);
}

/** Scratch symbol size: a full datagram plus its length prefix, rounded up. */
const SCRATCH_SHARD_BYTES = 1536;

/**
 * Reusable symbol buffers for handing a group to the engine, which copies the symbols into its
 * own memory: one buffer per index, grown to the longest symbol seen, so that encoding or
 * restoring a group allocates nothing (an ArrayBuffer costs ~3 µs, and a group has up to 128).
 */
export class ShardScratch {
  private readonly buffers: Uint8Array[] = [];

  /** Symbol `index` of `datagram`, `length` bytes long, in the scratch buffer for that index. */
  write(index: number, datagram: Uint8Array, length: number): Uint8Array {
    let buffer = this.buffers[index];
    if (buffer === undefined || buffer.length < length) {
      buffer = new Uint8Array(Math.max(length, SCRATCH_SHARD_BYTES));
      this.buffers[index] = buffer;
    }
    const shard = buffer.subarray(0, length);
    writeShard(shard, datagram, length);
    return shard;
  }
}
