/**
 * The host a relay runs on, for the simulator: a node wrapped in a model of Node.js's event loop.
 * The ideal simulator hands every datagram to a node the instant it lands and takes its output
 * at the same instant; a real relay does neither. This model adds what the profile of real
 * `bin/bering` processes shows:
 *
 * - CPU per packet: each datagram received costs `rxCostMs`, each sent `txCostMs`, and the host
 *   does one thing at a time, so a burst of arrivals is handled in turns and sends leave spread
 *   out by their cost.
 * - Event-loop turns: a turn reads at most {@link DATAGRAMS_PER_TURN} datagrams (libuv's UDP read
 *   loop), then flushes the node once at one `now` (as `io/sessionLoop.ts` does).
 * - Timers: the node's next timeout is served by a Node timer counted in whole milliseconds
 *   (at least 1) from the end of the turn that armed it, and fires `timerLagMs` late.
 * - Socket buffer: datagrams that arrive while `rxBufferBytes` are already waiting are dropped.
 * - Pauses: the host stops for `pause.lengthMs` at random, on average every `pause.everyMs`
 *   (garbage collection, a neighbour process on a shared vCPU).
 * - A cold start: a fresh process's first packets cost several times a warm one's.
 *
 * Applications that write into the node outside its events (a stream pump in an `onStep` hook)
 * call {@link wake}, as the relay's TCP bridges call the loop's `wake`.
 */
import type { Millis } from '../base/time.ts';
import type { SimNode } from './network.ts';
import type { Rng } from '../base/rng.ts';

/** What one host costs and how its timers behave. */
export interface HostConfig {
  /** CPU time to read, open and process one datagram, ms. */
  rxCostMs: number;
  /** CPU time to build, seal and send one datagram, ms. */
  txCostMs: number;
  /** Extra delay of every timer after its whole-millisecond deadline, ms. */
  timerLagMs: number;
  /** Kernel receive buffer; arrivals beyond it are dropped. */
  rxBufferBytes: number;
  /** Random stalls of the whole host, or none. */
  pause?: { everyMs: number; lengthMs: number };
  /**
   * A fresh process runs its data path interpreted until V8 has compiled it: the first `packets`
   * datagrams (read or sent) cost up to `factor` times as much, falling linearly to 1.
   */
  cold?: { factor: number; packets: number };
}

/** Datagrams libuv reads from one socket before it returns to the loop. */
export const DATAGRAMS_PER_TURN = 32;

/** Counters of one host, updated in place. */
export interface HostStats {
  turns: number;
  /** Datagrams dropped because the receive buffer was full. */
  rxDropped: number;
  /** CPU time spent on packets, ms. */
  busyMs: number;
}

interface Pending {
  pathId: number;
  bytes: Uint8Array;
}

interface Departure extends Pending {
  at: Millis;
}

/** A {@link SimNode} running on a host with the costs of {@link HostConfig}. */
export class HostNode implements SimNode {
  readonly stats: HostStats = { turns: 0, rxDropped: 0, busyMs: 0 };
  private readonly rx: Pending[] = [];
  private rxHead = 0;
  private rxBytes = 0;
  private readonly outbox: Departure[] = [];
  private outHead = 0;
  /** The host works on earlier input until then. */
  private busyUntil: Millis = 0;
  /** When the armed timer fires (Infinity: none armed). */
  private timerAt: Millis = Infinity;
  /** A flush was asked for (an arrival or {@link wake}) and has not run; the first turn is the start. */
  private flushPending = true;
  private pendingSince: Millis = 0;
  private nextPauseAt: Millis;
  /** Datagrams read or sent so far, for the cold start's cost. */
  private handled = 0;

  constructor(
    readonly inner: SimNode,
    readonly config: HostConfig,
    private readonly rng: Rng,
  ) {
    this.nextPauseAt = config.pause === undefined ? Infinity : this.drawPause(0);
  }

  /** The application fed the node at `now` (stream data, a read): a flush runs at the next turn. */
  wake(now: Millis): void {
    if (!this.flushPending) this.pendingSince = now;
    this.flushPending = true;
  }

  handleDatagram(now: Millis, pathId: number, bytes: Uint8Array): void {
    if (this.rxBytes + bytes.length > this.config.rxBufferBytes) {
      this.stats.rxDropped++;
      return;
    }
    this.rx.push({ pathId, bytes });
    this.rxBytes += bytes.length;
    this.wake(now);
  }

  nextTimeout(): Millis | null {
    let t = this.timerAt;
    if (this.flushPending) t = Math.min(t, Math.max(this.pendingSince, this.busyUntil));
    if (this.outHead < this.outbox.length) t = Math.min(t, this.outbox[this.outHead].at);
    return t === Infinity ? null : t;
  }

  handleTimeout(now: Millis): void {
    if (now < this.busyUntil) return;
    const timerFired = now >= this.timerAt;
    if (!timerFired && !this.flushPending) return;
    if (timerFired) this.timerAt = Infinity;
    this.turn(now);
  }

  pollTransmit(now: Millis): { pathId: number; bytes: Uint8Array } | null {
    if (this.outHead >= this.outbox.length || this.outbox[this.outHead].at > now) return null;
    const d = this.outbox[this.outHead++];
    if (this.outHead === this.outbox.length) {
      this.outbox.length = 0;
      this.outHead = 0;
    }
    return d;
  }

  /** One turn of the event loop starting at `now`: reads, timeouts, one flush, re-arm. */
  private turn(now: Millis): void {
    let t = now;
    if (t >= this.nextPauseAt) {
      t = Math.max(t, this.nextPauseAt + this.config.pause!.lengthMs);
      this.nextPauseAt = this.drawPause(t);
    }
    const start = t;
    this.stats.turns++;
    this.flushPending = false;
    const inner = this.inner;
    for (let n = 0; n < DATAGRAMS_PER_TURN && this.rxHead < this.rx.length; n++) {
      const d = this.rx[this.rxHead++];
      this.rxBytes -= d.bytes.length;
      inner.handleDatagram(t, d.pathId, d.bytes);
      t += this.cost(this.config.rxCostMs);
    }
    if (this.rxHead === this.rx.length) {
      this.rx.length = 0;
      this.rxHead = 0;
    } else {
      this.flushPending = true;
      this.pendingSince = t;
    }
    const due = inner.nextTimeout();
    if (due !== null && due <= t) inner.handleTimeout(t);
    // One `now` for the whole flush, as the session loop reads the clock once per drive.
    const flushAt = t;
    for (let tx = inner.pollTransmit(flushAt); tx !== null; tx = inner.pollTransmit(flushAt)) {
      t += this.cost(this.config.txCostMs);
      this.outbox.push({ at: t, pathId: tx.pathId, bytes: tx.bytes });
    }
    this.stats.busyMs += t - start;
    this.busyUntil = t;
    const next = inner.nextTimeout();
    if (next !== null) {
      // Node timers count whole milliseconds (at least 1) from when the loop arms them.
      const at = t + Math.max(1, Math.ceil(next - t)) + this.config.timerLagMs;
      if (at < this.timerAt) this.timerAt = at;
    }
  }

  /** What handling one more datagram costs, warm cost `warmMs`. */
  private cost(warmMs: Millis): Millis {
    const cold = this.config.cold;
    if (cold === undefined || this.handled >= cold.packets) return warmMs;
    const left = 1 - this.handled++ / cold.packets;
    return warmMs * (1 + (cold.factor - 1) * left);
  }

  private drawPause(from: Millis): Millis {
    const every = this.config.pause!.everyMs;
    return from - every * Math.log(1 - this.rng.next());
  }
}
