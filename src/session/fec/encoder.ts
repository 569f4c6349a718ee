import type { ReedSolomon } from '../../fec/index.ts';
import type { Millis } from '../../base/time.ts';
import { repairCount, type FecLane, type FecParams } from './policy.ts';
import { SHARD_PREFIX, ShardScratch } from './shard.ts';

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
   * The group's next repair waits for `depth` other packets to leave and for this time, so its
   * repairs are spread like its sources; after `repairDeadline` it goes regardless (a quiet stream).
   */
  nextRepairAt: Millis = 0;
  nextRepairPacket = 0;
  repairDeadline: Millis = 0;
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
  /** Closed groups with repairs left to send, served round-robin (see {@link peekRepair}). */
  private readonly repairQueue: SendGroup[] = [];
  private repairCursor = 0;
  private readonly scratch = new ShardScratch();
  private readonly scratchShards: Uint8Array[] = [];
  /** Packets the session sent so far, any kind, any path: the clock repairs are spaced by. */
  private packetsSent = 0;
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

  /** Earliest hold deadline among open groups: {@link handleTimeout} closes them. */
  nextTimeout(): Millis {
    let t = Infinity;
    for (const g of this.openGroups) t = Math.min(t, g.openedAt + g.holdMs);
    return t;
  }

  /** When the next spaced-out repair may go (only meaningful while some path can send). */
  nextRepairTime(): Millis {
    let t = Infinity;
    for (const g of this.repairQueue) t = Math.min(t, this.packetsSent >= g.nextRepairPacket ? g.nextRepairAt : g.repairDeadline);
    return t;
  }

  /** Call for every packet sent: repairs are spaced in packets on the wire. */
  onPacketSent(): void {
    this.packetsSent++;
  }

  /** Closes groups whose hold time ran out. */
  handleTimeout(now: Millis): void {
    for (const g of this.openGroups) if (g.openedAt + g.holdMs <= now && g.count > 0) this.close(g);
  }

  /** Whether a repair may be sent now. */
  hasRepair(now: Millis): boolean {
    return this.peekRepair(now) !== null;
  }

  /**
   * The next repair symbol to send: its group and index. Groups take turns, one symbol each, so
   * a group's repairs are spread among its neighbours' and one loss run cannot take them all.
   * Call {@link onRepairSent} after sending it.
   */
  peekRepair(now: Millis): { group: SendGroup; index: number } | null {
    const n = this.repairQueue.length;
    for (let i = 0; i < n; i++) {
      const g = this.repairQueue[(this.repairCursor + i) % n];
      const spaced = g.nextRepairAt <= now && this.packetsSent >= g.nextRepairPacket;
      if (spaced || g.repairDeadline <= now) return { group: g, index: g.repairsSent };
    }
    return null;
  }

  /**
   * Records that the peeked repair went out at `now`; the group's next one waits `spacingMs`
   * (about `depth` packets' time, so one loss run takes at most a repair or two of a group).
   * `nextPns` are every path's next packet numbers then.
   */
  onRepairSent(group: SendGroup, now: Millis, spacingMs: Millis, nextPns: () => number[]): void {
    group.repairsSent++;
    group.nextRepairAt = now + spacingMs;
    group.nextRepairPacket = this.packetsSent + group.params.depth;
    group.repairDeadline = now + 4 * spacingMs;
    this.repairPacketsQueued--;
    const at = this.repairQueue.indexOf(group);
    if (group.repairsSent === group.repairs.length) {
      this.repairQueue.splice(at, 1);
      group.releasePn = nextPns();
      group.repairs = [];
      group.sources.length = 0;
      this.repairCursor = at;
    } else {
      this.repairCursor = at + 1;
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
    const m = k === p.k ? p.m : repairCount(k, p.loss, p.depth, p.lane, p.maxOverhead);
    const length = group.shardLength;
    // The engine copies the symbols into its own memory: the same scratch buffers serve every group.
    const shards = this.scratchShards;
    shards.length = k;
    for (let i = 0; i < k; i++) shards[i] = this.scratch.write(i, group.sources[i], length);
    group.repairs = this.rs.encode(shards, m);
    this.repairQueue.push(group);
    this.repairPacketsQueued += m;
  }
}
