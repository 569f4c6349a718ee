import type { Millis } from '../../base/time.ts';
import type { PathManager } from '../pathManager.ts';
import type { Stream } from '../stream/stream.ts';
import type { Streams } from '../stream/streams.ts';
import type { FecEncoder, SendGroup } from './encoder.ts';
import { LOSS_PRIOR } from './lossMeter.ts';
import { chooseFecParams, type FecLane } from './policy.ts';

/** Shortest interval the live rate is measured over. */
const LIVE_RATE_SAMPLE_MS = 150;
const LIVE_RATE_GAIN = 0.25;
/** Share of the paths' measured bandwidth that live data and its repairs may fill together. */
const REPAIR_BUDGET = 0.95;
/**
 * Repairs per source packet while the loss is still the prior's guess. The prior alone asks for 7
 * of 16 (44%): a 60 Mbit/s stream then filled a 100 Mbit/s path to 90 Mbit/s before anything was
 * measured, so the least burst of start-up queued at the bottleneck and drained at 10 Mbit/s
 * (real relays, clean path: chunks 140-210 ms late in the first half second against 95 after).
 */
export const PRIOR_MAX_OVERHEAD = 0.33;
/**
 * FEC lane policy (DESIGN.md, forward error correction): which lane a packet's stream data goes
 * in, and each lane's shape, re-sized from the raw loss the peer reports on the paths in use and,
 * for the latency lane, capped to the room the paths have above the stream's own rate.
 */
export class FecLaneController {
  /** Bytes per ms (EWMA) of live streams' data sent, sampled at loss reports; what repairs ride on. */
  private liveRate = 0;
  private liveRateMarkAt: Millis = -Infinity;
  private liveRateMarkBytes = 0;

  constructor(
    private readonly encoder: Pick<FecEncoder, 'assign' | 'setParams' | 'params'>,
    private readonly paths: Pick<PathManager, 'all'>,
    private readonly streams: Pick<Streams, 'nextToSend' | 'sourcePacedSent'>,
  ) {}

  /**
   * The group and index of the packet about to be built, in the lane of `first`, the first stream
   * it will carry (`Streams.nextToSend`), or null when that lane has no FEC (see
   * `FecEncoder.assign`).
   */
  assign(now: Millis, first: Stream | undefined): { group: SendGroup; index: number } | null {
    return this.encoder.assign(now, this.nextLane(now, first));
  }

  /**
   * The lane of the packet about to be built, from the first stream it will carry: streams that
   * keep up with their source (live video) get the latency lane, backlogged ones bulk.
   */
  nextLane(now: Millis, first: Stream | undefined = this.streams.nextToSend()): FecLane {
    return first === undefined || first.isLive(now) ? 'latency' : 'bulk';
  }

  /**
   * Re-sizes both lanes from the raw loss of the paths in use, weighted by how much each carries.
   * Call when a loss report was taken in or a path came up.
   */
  update(now: Millis): void {
    const maxOverhead = this.repairHeadroom(now);
    let weight = 0;
    let loss = 0;
    let burst = 0;
    let settled = true;
    for (const p of this.paths.all) {
      if (p === undefined || !p.isUp) continue;
      if (!p.lossEstimate.settled) settled = false;
      const w = Number.isFinite(p.cc.pacingRate) ? p.cc.pacingRate : 1;
      weight += w;
      loss += w * p.lossEstimate.lossRate;
      burst += w * p.lossEstimate.meanBurst;
    }
    if (weight === 0) return;
    const model = { lossRate: loss / weight, meanBurst: burst / weight };
    this.encoder.setParams('bulk', chooseFecParams(model, 'bulk'));
    // Until the loss is measured over a memory's worth of packets a live stream is protected at
    // least as if the path were lossy: its first seconds are when a viewer notices a stall most,
    // a few early reports can miss a burst entirely, and the guess costs only those seconds.
    const live = settled
      ? model
      : { lossRate: Math.max(model.lossRate, LOSS_PRIOR.lossRate), meanBurst: Math.max(model.meanBurst, LOSS_PRIOR.meanBurst) };
    this.encoder.setParams('latency', chooseFecParams(live, 'latency', settled ? maxOverhead : Math.min(maxOverhead, PRIOR_MAX_OVERHEAD)));
  }

  /** A lane's current shape for stats (null: off). */
  shape(lane: FecLane): { k: number; m: number; depth: number } | null {
    const p = this.encoder.params(lane);
    return p === null ? null : { k: p.k, m: p.m, depth: p.depth };
  }

  /**
   * Repairs per source packet the paths have room for, or Infinity when they are not known to be
   * short of it. A live stream's repairs ride on top of its own rate: at 57 Mbit/s over an 84 Mbit/s
   * path losing 6.5%, the latency lane's 50% put 85 Mbit/s on a 78 Mbit/s path, and the queue
   * it built delayed every chunk by 400 ms more than any loss would have. The cap is the room the
   * estimates show once every path up has been measured (a sample not app-limited: until then an
   * estimate is the stream's own pace, a floor, and the cap is the larger of that room and the
   * prior's overhead) and for as long as it stays up: app-limited samples never lower an estimate, so the
   * room measured once still holds while the stream alone uses the path. It used to lift 5 s after
   * the paths stopped being saturated, and a 7 Mbit/s stream on a 10 Mbit/s path losing 3.5% then
   * took 50% repairs, overfilled the path and queued chunks 250 ms (random path 74).
   * Only the data of streams their source paces counts: a download beside the stream fills
   * whatever is left and yields to repairs, which go first; counting it left a 60 Mbit/s stream no
   * repairs at all over bursty loss, and every burst a retransmission late (worst chunk 390 ms
   * against 115). Paced, not in the latency lane: a live stream its repairs held back (57 Mbit/s
   * with 50% repairs on an 84 Mbit/s path losing 6.5%) left the latency lane as a backlogged
   * stream, its rate read as 33-59 Mbit/s, and the cap never held.
   */
  private repairHeadroom(now: Millis): number {
    if (this.liveRateMarkAt > -Infinity && now - this.liveRateMarkAt >= LIVE_RATE_SAMPLE_MS) {
      const rate = (this.streams.sourcePacedSent - this.liveRateMarkBytes) / (now - this.liveRateMarkAt);
      this.liveRate = this.liveRate === 0 ? rate : this.liveRate + LIVE_RATE_GAIN * (rate - this.liveRate);
    }
    if (this.liveRateMarkAt === -Infinity || now - this.liveRateMarkAt >= LIVE_RATE_SAMPLE_MS) {
      this.liveRateMarkAt = now;
      this.liveRateMarkBytes = this.streams.sourcePacedSent;
    }
    let capacity = 0;
    let measured = true;
    for (const p of this.paths.all) {
      if (p === undefined || !p.isUp) continue;
      capacity += p.cc.bottleneckBandwidth;
      if (!p.cc.pathMeasured) measured = false;
    }
    // An estimate below what the stream already sends was not taken by this stream: a path
    // measured by a 64 KiB reply before it (0.1-2.5 Mbit/s over 230 ms, start-up's first flight)
    // left a 60 Mbit/s stream no repairs for its first half second, and each loss waited a round
    // trip (worst chunk 370 ms against 156, random path 27). A path that really cannot carry the
    // stream goes uncapped too: its stream is late whatever the repairs do, and its loss still
    // sizes them.
    if (capacity < this.liveRate || this.liveRate <= 0) return Infinity;
    const room = (REPAIR_BUDGET * capacity) / this.liveRate - 1;
    // An estimate from app-limited samples only is a floor (what the stream and its repairs got
    // through so far): room up to it is known, more is a guess, and the prior's guess is as far as
    // repairs go on it. Uncapped, the loss measured over bursts asked 7 of 16 (44%) for a 60 Mbit/s
    // stream on an 83 Mbit/s path, filled it, and queued chunks 100 ms for the half second until a
    // full sample measured the path (p99 120 -> 150-207 ms over seeds 61-72 once an early window
    // update shifted when the path counted as measured).
    return measured ? Math.max(0, room) : Math.max(PRIOR_MAX_OVERHEAD, room);
  }
}
