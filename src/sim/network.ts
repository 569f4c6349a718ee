/**
 * The deterministic network simulator: two sans-IO nodes joined by N paths of {@link Link}s,
 * driven by a virtual clock that jumps from one event to the next (the multi-path counterpart of
 * quinn-proto's test `Pair`). Given the same nodes and seed, a run is bit-for-bit reproducible.
 */
import type { Millis } from '../base/time.ts';
import { EventQueue } from './eventQueue.ts';
import { Link, linkRng, type LinkConfig } from './link.ts';

/**
 * What a node (a session, or a listener adapter around one) looks like to the simulator: the
 * sans-IO calls of `src/session/api.ts`.
 *
 * Ownership: the simulator keeps the `bytes` of a transmit until it is delivered, without copying,
 * so a node must hand out a fresh buffer per transmit (or copy before returning it), and it
 * delivers that buffer itself: a node that needs a socket's ownership (an ArrayBuffer of its own
 * per datagram) copies on arrival.
 */
export interface SimNode {
  handleDatagram(now: Millis, pathId: number, bytes: Uint8Array): void;
  pollTransmit(now: Millis): { pathId: number; bytes: Uint8Array } | null;
  nextTimeout(): Millis | null;
  handleTimeout(now: Millis): void;
}

/** The two directions of one path: `aToB` carries what node a sends. */
export interface PathSpec {
  aToB: LinkConfig;
  bToA: LinkConfig;
}

/** Counters of a {@link SimNetwork} run, updated in place. */
export interface SimStats {
  /** Queue events processed: datagram deliveries plus `at`/`every` callbacks. */
  events: number;
  /** Datagrams the nodes transmitted (including those the links then dropped). */
  transmits: number;
  /** Instants at which the clock was nudged forward because a node's timer did not advance. */
  stalls: number;
}

/** Consecutive steps without the clock reaching a new event after which a run is a livelock. */
const MAX_NO_PROGRESS = 1_000_000;
/** How far a stuck clock is nudged: 1 µs. */
const STALL_NUDGE_MS = 0.001;

// Queue tags: >= 0 is a datagram, (pathId << 1) | direction; negative tags are app callbacks.
const TO_B = 0;
const TO_A = 1;
const TAG_AT = -1;
const TAG_EVERY = -2;

interface Repeating {
  periodMs: number;
  fn: (now: Millis) => void | false;
}

/**
 * Runs node `a` and node `b` over `paths` on a virtual clock.
 *
 * At each instant it: delivers every datagram and app callback due, calls `handleTimeout` on each
 * node whose `nextTimeout() <= now`, drains `pollTransmit` of a then b into the path links, runs
 * the `onStep` hooks and drains again; then it jumps to the earliest of the next queued event and
 * both nodes' `nextTimeout()` (re-read every time, since a pacing node returns null from
 * `pollTransmit` with a timeout in the future).
 *
 * Cost per datagram: one `Link.send`, one heap push and pop (O(log in-flight)), no allocation
 * of its own. Path i's aToB link draws from `linkRng(seed, 2i)`, its bToA link from
 * `linkRng(seed, 2i + 1)`.
 */
export class SimNetwork {
  /** Path links, indexed by path id; change them on the fly with `setConfig` (e.g. blackouts). */
  readonly links: ReadonlyArray<{ readonly aToB: Link; readonly bToA: Link }>;
  /** Live counters; `stats.events / wall seconds` is the simulator's speed. */
  readonly stats: SimStats = { events: 0, transmits: 0, stalls: 0 };

  private readonly a: SimNode;
  private readonly b: SimNode;
  private readonly queue = new EventQueue<Uint8Array | ((now: Millis) => void) | Repeating>();
  private readonly stepHooks: Array<(now: Millis) => void> = [];
  private clock: Millis;
  private kicked = false;
  // Whether step() called the node's handleTimeout at the current instant.
  private aTimedOut = false;
  private bTimedOut = false;

  /** Builds the links; nothing runs until {@link runUntil}. `startMs` defaults to 0. */
  constructor(opts: { a: SimNode; b: SimNode; paths: PathSpec[]; seed: number; startMs?: Millis }) {
    if (opts.paths.length === 0) throw new RangeError('SimNetwork needs at least one path');
    this.a = opts.a;
    this.b = opts.b;
    this.clock = opts.startMs ?? 0;
    this.links = opts.paths.map((p, i) => ({
      aToB: new Link(p.aToB, linkRng(opts.seed, 2 * i + TO_B)),
      bToA: new Link(p.bToA, linkRng(opts.seed, 2 * i + TO_A)),
    }));
  }

  /** The virtual time, ms. */
  get now(): Millis {
    return this.clock;
  }

  /** Runs `fn(now)` at `timeMs` (>= now), after the datagrams due at that instant. O(log n). */
  at(timeMs: Millis, fn: (now: Millis) => void): void {
    if (!(timeMs >= this.clock)) throw new RangeError(`at(${timeMs}) is before now (${this.clock})`);
    this.queue.push(timeMs, TAG_AT, fn);
  }

  /**
   * Runs `fn(now)` every `periodMs`, first at `now + periodMs`, until it returns `false`.
   * O(log n) per run.
   */
  every(periodMs: Millis, fn: (now: Millis) => void | false): void {
    if (!(periodMs > 0)) throw new RangeError(`every(${periodMs}): the period must be > 0`);
    this.queue.push(this.clock + periodMs, TAG_EVERY, { periodMs, fn });
  }

  /**
   * Registers `fn(now)` to run after every processed instant (deliveries, timeouts and transmits
   * done); apps pump their streams here. Transmits it causes are drained right after it.
   */
  onStep(fn: (now: Millis) => void): void {
    this.stepHooks.push(fn);
  }

  /**
   * Call after app code changed node state outside of an event (e.g. wrote into a stream from an
   * `onStep` hook that then expects its events handled): the network processes the current instant
   * once more, re-polling both nodes at `now`. Cheap; repeated calls in one instant coalesce.
   */
  kick(): void {
    this.kicked = true;
  }

  /**
   * Advances the virtual clock to `timeMs`, processing every event up to and including it; stops
   * early, returning true, as soon as `until()` (checked after every instant) returns true. Returns
   * false when `timeMs` was reached. May be called repeatedly to run in phases.
   *
   * A node whose `nextTimeout()` stays <= now after its `handleTimeout` would freeze the clock: the
   * clock is then nudged forward by 1 µs (counted in `stats.stalls`). After 1e6 consecutive
   * instants without reaching a new event it throws, naming the node.
   */
  runUntil(timeMs: Millis, until?: () => boolean): boolean {
    if (!(timeMs >= this.clock)) throw new RangeError(`runUntil(${timeMs}) is before now (${this.clock})`);
    let noProgress = 0;
    for (;;) {
      this.kicked = false;
      this.step();
      if (until !== undefined && until()) return true;

      const now = this.clock;
      let next = this.queue.nextTime;
      const ta = this.a.nextTimeout();
      if (ta !== null && ta < next) next = ta;
      const tb = this.b.nextTimeout();
      if (tb !== null && tb < next) next = tb;

      if (next > now && !this.kicked) {
        noProgress = 0;
      } else {
        if (++noProgress > MAX_NO_PROGRESS) {
          const cause =
            ta !== null && ta <= now
              ? 'node a keeps a timeout <= now'
              : tb !== null && tb <= now
                ? 'node b keeps a timeout <= now'
                : 'events or kicks keep arriving at the same instant';
          throw new Error(`SimNetwork livelock at ${now} ms: ${MAX_NO_PROGRESS} instants without progress (${cause})`);
        }
        const stuck = (ta !== null && ta <= now && this.aTimedOut) || (tb !== null && tb <= now && this.bTimedOut);
        if (stuck && this.queue.nextTime > now && !this.kicked) {
          // handleTimeout ran at this instant and left its timer due: only time can move it on.
          this.stats.stalls++;
          next = Math.min(now + STALL_NUDGE_MS, this.queue.nextTime);
        } else {
          // Work arrived for this very instant (a zero-delay delivery, a kick, or a timer set
          // while polling): process the instant again.
          next = now;
        }
      }
      if (next > timeMs) {
        this.clock = timeMs;
        return false;
      }
      this.clock = next;
    }
  }

  /** Processes one instant: deliveries and callbacks, timeouts, transmits, step hooks. */
  private step(): void {
    const now = this.clock;
    const queue = this.queue;
    while (queue.nextTime <= now) {
      const tag = queue.nextTag;
      const payload = queue.pop();
      this.stats.events++;
      if (tag >= 0) {
        const node = (tag & 1) === TO_B ? this.b : this.a;
        node.handleDatagram(now, tag >> 1, payload as Uint8Array);
      } else if (tag === TAG_AT) {
        (payload as (now: Millis) => void)(now);
      } else {
        const rep = payload as Repeating;
        if (rep.fn(now) !== false) queue.push(now + rep.periodMs, TAG_EVERY, rep);
      }
    }
    const ta = this.a.nextTimeout();
    this.aTimedOut = ta !== null && ta <= now;
    if (this.aTimedOut) this.a.handleTimeout(now);
    const tb = this.b.nextTimeout();
    this.bTimedOut = tb !== null && tb <= now;
    if (this.bTimedOut) this.b.handleTimeout(now);
    this.drain(this.a, TO_B, now);
    this.drain(this.b, TO_A, now);
    if (this.stepHooks.length > 0) {
      for (const hook of this.stepHooks) hook(now);
      this.drain(this.a, TO_B, now);
      this.drain(this.b, TO_A, now);
    }
  }

  /** Moves every pending transmit of `node` into its path's link towards the other node. */
  private drain(node: SimNode, direction: number, now: Millis): void {
    const links = this.links;
    for (let t = node.pollTransmit(now); t !== null; t = node.pollTransmit(now)) {
      this.stats.transmits++;
      const pair = links[t.pathId];
      if (pair === undefined) {
        throw new RangeError(`node ${direction === TO_B ? 'a' : 'b'} sent on unknown path ${t.pathId}`);
      }
      const link = direction === TO_B ? pair.aToB : pair.bToA;
      const at = link.send(now, t.bytes.length);
      if (at >= 0) this.queue.push(at, (t.pathId << 1) | direction, t.bytes);
    }
  }
}

/** Both directions of a path with the same config (copies, so each link owns its object). */
export function symmetric(link: LinkConfig): PathSpec {
  return { aToB: { ...link }, bToA: { ...link } };
}

/**
 * The trans-Pacific VPS path of DESIGN.md, both directions alike: 90 ms one-way (180 ms RTT),
 * a `rateMbps` bottleneck (default 100) with a 60 ms drop-tail queue, optional random loss and
 * Gilbert-Elliott bursts.
 */
export function transPacific(
  opts: { lossRate?: number; burst?: { meanLossRate: number; meanBurstLength: number }; rateMbps?: number } = {},
): PathSpec {
  return symmetric({
    delayMs: 90,
    rateMbps: opts.rateMbps ?? 100,
    queueMs: 60,
    lossRate: opts.lossRate,
    burstLoss: opts.burst,
  });
}
