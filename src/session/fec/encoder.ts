import type { ReedSolomon } from '../../fec/index.ts';
import type { Millis } from '../time.ts';
import { repairCount, type FecLane, type FecParams } from './policy.ts';
import { SHARD_PREFIX, writeShard } from './shard.ts';

/** One FEC group on the sending side, from its first source packet until its last repair left. */
export class SendGroup {
  readonly sources: Uint8Array[] = [];
  count = 0;
  maxLength = 0;
  closed = false;
  /** Source count the group closed with (k of its REPAIR frames). */
  finalK = 0;
  repairs: Uint8Array[] = [];
  repairsSent = 0;
  /**
   * Per path, the next packet number when the last repair left: a protected packet is only
   * declared lost once a packet sent after that was acknowledged, so FEC gets its chance first.
   */
  releasePn: number[] | null = null;

  constructor(
    readonly id: number,
    readonly params: FecParams,
    readonly openedAt: Millis,
  ) {}

  get lane(): FecLane {
    return this.params.lane;
  }

  get holdMs(): Millis {
    return this.params.holdMs;
  }

  get isFull(): boolean {
    return this.count >= this.params.k;
  }

  /** Repair symbol length: the longest source datagram plus the length prefix. */
  get shardLength(): number {
    return SHARD_PREFIX + this.maxLength;
  }
}

interface Lane {
  params: FecParams | null;
  open: (SendGroup | null)[];
  next: number;
}

/**
 * The sending half of packet-level FEC. Protected datagrams are gathered into groups (several
 * open at once, filled round-robin, so a loss run spreads over groups); a group closes when full
 * or after its hold time, and its repair symbols wait in a queue for the session to send them
 * (paced like any packet). Sans-IO: time comes in as arguments.
 */
export class FecEncoder {
  private readonly lanes: Record<FecLane, Lane> = {
    bulk: { params: null, open: [], next: 0 },
    latency: { params: null, open: [], next: 0 },
  };
  private nextGroupId = 0;
  private readonly repairQueue: SendGroup[] = [];
  private readonly openGroups = new Set<SendGroup>();
  repairPacketsQueued = 0;

  constructor(private readonly rs: ReedSolomon) {}

  /** Sets a lane's group shape (null: no FEC). Groups already open keep theirs. */
  setParams(lane: FecLane, params: FecParams | null): void {
    this.lanes[lane].params = params;
  }

  params(lane: FecLane): FecParams | null {
    return this.lanes[lane].params;
  }

  /**
   * Picks the group and index for the packet being built, or null when the lane has no FEC.
   * Call before sealing (the FEC_SOURCE frame names them), then {@link addSource} after.
   */
  assign(now: Millis, lane: FecLane): { group: SendGroup; index: number } | null {
    const l = this.lanes[lane];
    const params = l.params;
    if (params === null) return null;
    if (l.open.length !== params.depth) l.open.length = params.depth;
    const slot = l.next;
    l.next = (l.next + 1) % params.depth;
    let group = l.open[slot];
    if (group === undefined || group === null || group.closed || group.isFull) {
      group = new SendGroup(this.nextGroupId++, params, now);
      l.open[slot] = group;
      this.openGroups.add(group);
    }
    return { group, index: group.count++ };
  }

  /** Hands over the sealed datagram of a packet tagged by {@link assign}. */
  addSource(group: SendGroup, index: number, datagram: Uint8Array): void {
    group.sources[index] = datagram;
    if (datagram.length > group.maxLength) group.maxLength = datagram.length;
    if (group.isFull) this.close(group);
  }

  /** Earliest hold deadline among open groups. */
  nextTimeout(): Millis {
    let t = Infinity;
    for (const g of this.openGroups) t = Math.min(t, g.openedAt + g.holdMs);
    return t;
  }

  /** Closes groups whose hold time ran out. */
  handleTimeout(now: Millis): void {
    for (const g of this.openGroups) if (g.openedAt + g.holdMs <= now && g.count > 0) this.close(g);
  }

  get hasRepair(): boolean {
    return this.repairQueue.length > 0;
  }

  /** The next repair symbol to send: its group and index. Call {@link onRepairSent} after sending it. */
  peekRepair(): { group: SendGroup; index: number } | null {
    const g = this.repairQueue[0];
    return g === undefined ? null : { group: g, index: g.repairsSent };
  }

  /** Records that the peeked repair went out; `nextPns` are every path's next packet numbers then. */
  onRepairSent(group: SendGroup, nextPns: () => number[]): void {
    group.repairsSent++;
    this.repairPacketsQueued--;
    if (group.repairsSent === group.repairs.length) {
      this.repairQueue.shift();
      group.releasePn = nextPns();
      group.repairs = [];
      group.sources.length = 0;
    }
  }

  private close(group: SendGroup): void {
    if (group.closed) return;
    group.closed = true;
    this.openGroups.delete(group);
    const k = group.count;
    group.finalK = k;
    const p = group.params;
    // A group closed early by its hold timer is smaller: size its repairs for what it has.
    const m = k === p.k ? p.m : repairCount(k, p.loss, p.depth, p.lane);
    const length = group.shardLength;
    const shards = new Array<Uint8Array>(k);
    for (let i = 0; i < k; i++) {
      const shard = new Uint8Array(length);
      writeShard(shard, group.sources[i], length);
      shards[i] = shard;
    }
    group.repairs = this.rs.encode(shards, m);
    this.repairQueue.push(group);
    this.repairPacketsQueued += m;
  }
}
