import { FecError } from '../../fec/errors.ts';
import type { ReedSolomon } from '../../fec/index.ts';
import type { Millis } from '../../base/time.ts';
import { readShard, ShardScratch } from './shard.ts';

/** A group on the receiving side: what arrived of it so far. */
interface RecvGroup {
  k: number;
  m: number;
  shardLength: number;
  sources: (Uint8Array | undefined)[];
  repairs: (Uint8Array | undefined)[];
  sourceCount: number;
  repairCount: number;
  done: boolean;
  createdAt: Millis;
  /** Where the group's symbols are copied (see {@link FecDecoder.keep}), and how full it is. */
  block: Uint8Array | null;
  blockUsed: number;
}

/** The first block a group copies its symbols into: about six full datagrams. */
const FIRST_BLOCK_BYTES = 8192;
/** Later blocks of a group double up to this. */
const MAX_BLOCK_BYTES = 64 * 1024;

/** Groups older than this are given up: ARQ has long taken over their losses. */
const GROUP_TTL_MS = 1000;
/** Bound on groups held, whatever a peer sends. */
const MAX_GROUPS = 4096;

/**
 * The receiving half of packet-level FEC: keeps copies of the source datagrams and repair symbols
 * of recent groups (the datagrams they came in are the driver's again once handled) and, as soon as a group has k of its k + m symbols, restores the
 * missing datagrams. Restored datagrams go back through the session's normal receive path
 * (authentication, replay window, frames), exactly as if they had arrived.
 */
export class FecDecoder {
  private readonly groups = new Map<number, RecvGroup>();
  restoredPackets = 0;
  /** Groups that closed with more losses than repairs (left to ARQ). */
  failedGroups = 0;

  private readonly scratch = new ShardScratch();

  constructor(private readonly rs: ReedSolomon) {}

  /** A received datagram tagged FEC_SOURCE(groupId, index). Returns datagrams restored by it. */
  onSource(now: Millis, groupId: number, index: number, datagram: Uint8Array): Uint8Array[] {
    const g = this.group(now, groupId);
    if (g === null || g.done || g.sources[index] !== undefined) return NONE;
    if (g.k >= 0 && index >= g.k) return NONE;
    g.sources[index] = this.keep(g, datagram);
    g.sourceCount++;
    return this.tryRestore(g);
  }

  /** A received REPAIR frame. Returns datagrams restored by it. */
  onRepair(now: Millis, groupId: number, index: number, k: number, m: number, data: Uint8Array): Uint8Array[] {
    const g = this.group(now, groupId);
    if (g === null || g.done) return NONE;
    if (g.k < 0) {
      g.k = k;
      g.m = m;
      g.shardLength = data.length;
      g.sources.length = Math.max(g.sources.length, k);
    } else if (g.k !== k || g.m !== m || g.shardLength !== data.length) {
      return NONE;
    }
    if (g.repairs[index] !== undefined) return NONE;
    g.repairs[index] = this.keep(g, data);
    g.repairCount++;
    return this.tryRestore(g);
  }

  /** Drops groups past their time; call now and then (every timeout is enough). */
  expire(now: Millis): void {
    for (const [id, g] of this.groups) {
      if (now - g.createdAt < GROUP_TTL_MS && this.groups.size <= MAX_GROUPS) break;
      if (!g.done && g.k >= 0 && g.sourceCount < g.k) this.failedGroups++;
      this.groups.delete(id);
    }
  }

  private group(now: Millis, groupId: number): RecvGroup | null {
    let g = this.groups.get(groupId);
    if (g === undefined) {
      g = { k: -1, m: -1, shardLength: 0, sources: [], repairs: [], sourceCount: 0, repairCount: 0, done: false, createdAt: now, block: null, blockUsed: 0 };
      this.groups.set(groupId, g);
      if (this.groups.size > MAX_GROUPS) this.expire(now);
    }
    return g;
  }

  private tryRestore(g: RecvGroup): Uint8Array[] {
    if (g.k < 0) return NONE;
    if (g.sourceCount >= g.k) {
      this.finish(g);
      return NONE;
    }
    if (g.sourceCount + g.repairCount < g.k) return NONE;
    const n = g.k + g.m;
    const shards = new Array<Uint8Array | undefined>(n);
    const present = new Array<boolean>(n).fill(false);
    // Received sources go in through scratch buffers; the missing slots stay empty, so the
    // engine gives each restored datagram a buffer of its own.
    for (let i = 0; i < g.k; i++) {
      const d = g.sources[i];
      if (d === undefined || d.length + 2 > g.shardLength) continue;
      shards[i] = this.scratch.write(i, d, g.shardLength);
      present[i] = true;
    }
    for (let j = 0; j < g.m; j++) {
      if (g.repairs[j] !== undefined) {
        shards[g.k + j] = g.repairs[j];
        present[g.k + j] = true;
      }
    }
    let restored: number[];
    try {
      restored = this.rs.reconstruct(shards, present, g.k, g.m);
    } catch (err) {
      if (!(err instanceof FecError)) throw err;
      // Symbols that contradict each other (a broken peer): leave the losses to ARQ.
      this.failedGroups++;
      this.finish(g);
      return NONE;
    }
    const out: Uint8Array[] = [];
    for (const i of restored) {
      const datagram = readShard(shards[i]!);
      if (datagram !== null) out.push(datagram);
    }
    this.restoredPackets += out.length;
    this.finish(g);
    return out;
  }

  private finish(g: RecvGroup): void {
    g.done = true;
    g.sources = [];
    g.repairs = [];
    g.block = null;
  }

  /**
   * A copy of `bytes` in the group's current block: a group's symbols share a few buffers that
   * go with it, rather than one buffer each (an ArrayBuffer costs ~3 µs with its garbage).
   */
  private keep(g: RecvGroup, bytes: Uint8Array): Uint8Array {
    let block = g.block;
    if (block === null || block.length - g.blockUsed < bytes.length) {
      const size = block === null ? FIRST_BLOCK_BYTES : Math.min(MAX_BLOCK_BYTES, block.length * 2);
      block = new Uint8Array(Buffer.allocUnsafeSlow(Math.max(size, bytes.length)).buffer);
      g.block = block;
      g.blockUsed = 0;
    }
    const copy = block.subarray(g.blockUsed, g.blockUsed + bytes.length);
    copy.set(bytes);
    g.blockUsed += bytes.length;
    return copy;
  }
}

const NONE: Uint8Array[] = [];
