/**
 * A pure, seeded model of one direction of a network path: a bottleneck with a drop-tail queue,
 * random and bursty (Gilbert-Elliott) loss on the wire, propagation delay, jitter and blackouts.
 *
 * No I/O and no clock reads: the caller passes `now` (ms, any monotonic origin) with every packet
 * and gets back the delivery time, or -1 when the packet is dropped. The simulator
 * (`network.ts`) and the real-socket impairment proxy (`src/lab/impairmentProxy.ts`) drive the very
 * same model, so a bench over real sockets sees the links a simulation test sees.
 */
import { SeededRng, type Rng } from '../base/rng.ts';
import type { Millis } from '../base/time.ts';

export interface LinkConfig {
  /** One-way propagation delay, ms. */
  delayMs: number;
  /** Extra uniform random delay in [0, jitterMs), ms. */
  jitterMs?: number;
  /**
   * Whether jitter may reorder packets. Default false: delivery times are kept monotonic (a
   * packet never overtakes an earlier one), as on a single real path.
   */
  reorder?: boolean;
  /** Independent random loss probability per packet on the wire, [0, 1]. */
  lossRate?: number;
  /**
   * Gilbert-Elliott bursty loss: a 2-state Markov chain stepped once per packet on the wire; the
   * bad state drops. p(bad->good) = 1/meanBurstLength and p(good->bad) is derived so the
   * stationary loss equals meanLossRate. Applies on top of `lossRate`.
   */
  burstLoss?: { meanLossRate: number; meanBurstLength: number };
  /** Bottleneck serialization rate, Mbit/s (10^6 bit/s). 0 or undefined: unlimited. */
  rateMbps?: number;
  /**
   * Drop-tail queue capacity at the bottleneck, expressed as the time it takes to drain at
   * `rateMbps` (e.g. 60 ms). A packet is accepted when the backlog plus itself fits, so its total
   * time at the bottleneck (wait + own serialization) never exceeds queueMs. Mutually exclusive
   * with `queueBytes`; with neither the queue is unbounded. Ignored without `rateMbps`.
   */
  queueMs?: number;
  /** Drop-tail queue capacity in bytes (wire bytes, overhead included). */
  queueBytes?: number;
  /** Path dark: every packet sent at a time in [fromMs, toMs) is dropped. */
  blackouts?: Array<{ fromMs: number; toMs: number }>;
  /** Per-packet bytes added for rate and queue accounting (IP + UDP = 28 by default). */
  overheadBytes?: number;
}

/** A delivery time (ms, same clock as `now`), or -1 when the packet was dropped. */
export type LinkVerdict = number;

/** Counters of one link, updated in place by {@link Link.send}. */
export interface LinkStats {
  /** Packets offered to `send`. */
  sent: number;
  /** Packets given a delivery time (sent = delivered + the three drop counters). */
  delivered: number;
  /** Lost on the wire (random or burst loss). */
  droppedLoss: number;
  /** Tail-dropped at the full bottleneck queue. */
  droppedQueue: number;
  /** Sent during a blackout. */
  droppedBlackout: number;
  /** Payload bytes (without overhead) of delivered packets. */
  bytesDelivered: number;
  /** Largest time a packet waited in the bottleneck queue before serialization started, ms. */
  maxQueueDelayMs: number;
}

const DEFAULT_OVERHEAD_BYTES = 28;

/**
 * The Rng for link number `index` of a run seeded with `seed`: a distinct, well-mixed stream per
 * link, so a driver needs one seed for all its links and reconfiguring one link never shifts
 * another's randomness. O(1).
 */
export function linkRng(seed: number, index: number): SeededRng {
  return new SeededRng((Math.imul((seed ^ 0x5bd1e995) >>> 0, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

/**
 * One direction of a path. Create one per direction with its own Rng (see {@link linkRng}), call
 * {@link send} for every packet in nondecreasing `now` order.
 *
 * The bottleneck is modelled by a single number, the time at which it becomes free: the backlog
 * a new packet sees is `freeAt - now` at `rateMbps`, so tail drop needs no per-packet list and
 * `send` is O(1) (plus a scan of the few configured blackouts).
 */
export class Link {
  /** Live counters; read at any time, never write. */
  readonly stats: LinkStats = {
    sent: 0,
    delivered: 0,
    droppedLoss: 0,
    droppedQueue: 0,
    droppedBlackout: 0,
    bytesDelivered: 0,
    maxQueueDelayMs: 0,
  };

  private config!: LinkConfig;
  private readonly rng: Rng;
  // Derived from config by configure().
  private bytesPerMs = 0; // 0 = unlimited rate
  private queueCapBytes = Infinity;
  private overhead = DEFAULT_OVERHEAD_BYTES;
  private pGoodToBad = 0;
  private pBadToGood = 1;
  // State.
  private freeAt = -Infinity; // when the bottleneck finishes serializing its backlog
  private lastDelivery = -Infinity; // for monotonic delivery when !reorder
  private bad = false; // Gilbert-Elliott state

  /** Validates `config` (throws RangeError on nonsense) and starts with an empty queue. */
  constructor(config: LinkConfig, rng: Rng) {
    this.rng = rng;
    this.configure(config);
  }

  /**
   * Changes the configuration on the fly, e.g. to start a blackout or change the rate: fields in
   * `partial` replace the current ones (pass `undefined` to clear an optional field). The queue
   * backlog, the burst-loss state and the delivery order carry over. O(1).
   */
  setConfig(partial: Partial<LinkConfig>): void {
    this.configure({ ...this.config, ...partial });
  }

  /**
   * Backlog of the bottleneck queue at `now`, in ms of serialization (0 when idle or unlimited).
   * O(1); for tests and for drivers that want to report queueing.
   */
  queueDelayMs(now: Millis): number {
    return this.freeAt > now ? this.freeAt - now : 0;
  }

  /**
   * Offers one packet of `sizeBytes` (payload, without IP/UDP overhead) at `now`. Returns its
   * delivery time, or -1 if a blackout, the queue or the wire dropped it. Calls must come in
   * nondecreasing `now`. O(1) plus the number of blackouts; draws at most 3 random numbers.
   */
  send(now: Millis, sizeBytes: number): LinkVerdict {
    const stats = this.stats;
    const cfg = this.config;
    stats.sent++;

    const blackouts = cfg.blackouts;
    if (blackouts !== undefined) {
      for (let i = 0; i < blackouts.length; i++) {
        if (now >= blackouts[i].fromMs && now < blackouts[i].toMs) {
          stats.droppedBlackout++;
          return -1;
        }
      }
    }

    // Bottleneck: drop-tail against the virtual backlog, then serialize.
    let departure = now;
    if (this.bytesPerMs > 0) {
      const wireBytes = sizeBytes + this.overhead;
      const start = this.freeAt > now ? this.freeAt : now;
      const waitMs = start - now;
      if (waitMs * this.bytesPerMs + wireBytes > this.queueCapBytes) {
        stats.droppedQueue++;
        return -1;
      }
      if (waitMs > stats.maxQueueDelayMs) stats.maxQueueDelayMs = waitMs;
      departure = start + wireBytes / this.bytesPerMs;
      this.freeAt = departure;
    }

    // The wire: bursty loss (the chain steps once per packet that reaches the wire), then
    // independent loss. A lost packet still consumed the bottleneck above, as on a real path.
    if (cfg.burstLoss !== undefined) {
      this.bad = this.bad ? this.rng.next() >= this.pBadToGood : this.rng.next() < this.pGoodToBad;
      if (this.bad) {
        stats.droppedLoss++;
        return -1;
      }
    }
    const lossRate = cfg.lossRate;
    if (lossRate !== undefined && lossRate > 0 && this.rng.next() < lossRate) {
      stats.droppedLoss++;
      return -1;
    }

    let delivery = departure + cfg.delayMs;
    const jitter = cfg.jitterMs;
    if (jitter !== undefined && jitter > 0) delivery += this.rng.next() * jitter;
    if (cfg.reorder !== true) {
      if (delivery < this.lastDelivery) delivery = this.lastDelivery;
      this.lastDelivery = delivery;
    }
    stats.delivered++;
    stats.bytesDelivered += sizeBytes;
    return delivery;
  }

  private configure(config: LinkConfig): void {
    const nonNegative = (name: string, v: number | undefined): void => {
      if (v !== undefined && !(v >= 0 && Number.isFinite(v))) {
        throw new RangeError(`LinkConfig.${name} must be a finite number >= 0, got ${v}`);
      }
    };
    nonNegative('delayMs', config.delayMs);
    if (config.delayMs === undefined) throw new RangeError('LinkConfig.delayMs is required');
    nonNegative('jitterMs', config.jitterMs);
    nonNegative('rateMbps', config.rateMbps);
    nonNegative('queueMs', config.queueMs);
    nonNegative('queueBytes', config.queueBytes);
    nonNegative('overheadBytes', config.overheadBytes);
    if (config.lossRate !== undefined && !(config.lossRate >= 0 && config.lossRate <= 1)) {
      throw new RangeError(`LinkConfig.lossRate must be in [0, 1], got ${config.lossRate}`);
    }
    if (config.queueMs !== undefined && config.queueBytes !== undefined) {
      throw new RangeError('LinkConfig: give queueMs or queueBytes, not both');
    }
    for (const b of config.blackouts ?? []) {
      if (!(b.fromMs <= b.toMs)) {
        throw new RangeError(`LinkConfig.blackouts: fromMs ${b.fromMs} after toMs ${b.toMs}`);
      }
    }

    let pGoodToBad = 0;
    let pBadToGood = 1;
    if (config.burstLoss !== undefined) {
      const { meanLossRate: m, meanBurstLength: len } = config.burstLoss;
      if (!(m >= 0 && m < 1)) {
        throw new RangeError(`LinkConfig.burstLoss.meanLossRate must be in [0, 1), got ${m}`);
      }
      if (!(len >= 1 && Number.isFinite(len))) {
        throw new RangeError(`LinkConfig.burstLoss.meanBurstLength must be >= 1, got ${len}`);
      }
      // Stationary P(bad) = p / (p + r) = m  =>  p = r * m / (1 - m).
      pBadToGood = 1 / len;
      pGoodToBad = (pBadToGood * m) / (1 - m);
      if (pGoodToBad > 1) {
        throw new RangeError(
          `LinkConfig.burstLoss: loss ${m} with bursts of ${len} is unreachable ` +
            '(needs meanLossRate <= meanBurstLength / (meanBurstLength + 1))',
        );
      }
    }

    // Copy, blackouts included, so a caller mutating its object cannot change the link unseen.
    this.config = { ...config, blackouts: config.blackouts?.map((b) => ({ ...b })) };
    this.pGoodToBad = pGoodToBad;
    this.pBadToGood = pBadToGood;
    this.overhead = config.overheadBytes ?? DEFAULT_OVERHEAD_BYTES;
    const rate = config.rateMbps ?? 0;
    this.bytesPerMs = (rate * 1e6) / 8 / 1000;
    if (config.queueBytes !== undefined) this.queueCapBytes = config.queueBytes;
    else if (config.queueMs !== undefined && rate > 0) this.queueCapBytes = config.queueMs * this.bytesPerMs;
    else this.queueCapBytes = Infinity;
  }
}
