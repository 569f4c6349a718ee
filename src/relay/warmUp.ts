/**
 * Runs the session core in memory while a relay has nothing else to do, so that V8 has compiled
 * it before the first viewer arrives: what goes on warming after the loopback warm-up
 * (socketWarmUp.ts) ran out of its budget before the ports opened, or could not run.
 *
 * A fresh Node process interprets the core for its first tens of thousands of packets: pushing
 * 12 MB through it costs ~1 s of CPU cold and ~0.2 s warm. Through real relays on a clean
 * loopback link the first second of a 60 Mbit/s stream saw RTTs of 7-16 ms (0.3 ms warm) and
 * chunks 150-550 ms late, and every later second stayed under ~60 ms. Here a dialer and a
 * listener session, keyed with a throwaway key, exchange two streams over an in-memory link on a
 * virtual clock: handshake, FEC, sealing and opening, ACKs, flow control. It runs in slices of a
 * few milliseconds between the relay's own work, and pauses while a real stream is open: real
 * traffic warms the code then, and the warm-up would only compete with it.
 */
import { randomBytes } from 'node:crypto';
import type { ReedSolomon } from '../fec/index.ts';
import { Listener } from '../session/listener.ts';
import { cryptoRng } from '../io/cryptoRng.ts';
import { Session } from '../session/session.ts';
import type { Millis } from '../base/time.ts';

/** Stream bytes sent each way: about what the optimizing compiler needs to take over. */
export const WARM_UP_BYTES = 6 << 20;
/** Virtual time the exchange may take at most. */
const WARM_UP_LIMIT_MS = 20_000;
/** Virtual one-way delay of the in-memory link. */
const LINK_DELAY_MS = 0.5;
/**
 * Real time a relay warms up for before it opens its ports. Both relays of a pair starting at once
 * on a 2-core machine finish in ~0.8 s; a slower host finishes the rest in the background.
 */
export const WARM_UP_BEFORE_LISTEN_MS = 1500;
/** Real time one slice may take before yielding to the event loop. */
const SLICE_MS = 4;
/** How often a warm-up paused by a real stream looks whether the relay is idle again. */
const BUSY_RECHECK_MS = 100;

/** An in-memory session pair stepped a slice at a time. */
export class WarmUp {
  private readonly dialer: Session;
  private readonly listener: Listener;
  private accepted: Session | null = null;
  private readonly inFlight: Array<{ at: Millis; toListener: boolean; bytes: Uint8Array }> = [];
  private readonly chunk = new Uint8Array(64 * 1024);
  private readonly wallEpoch = Date.now();
  private now: Millis = 0;
  private up = -1;
  private down = -1;
  private sent = 0;
  /** Stream bytes delivered so far, both ways. */
  delivered = 0;

  constructor(fec: ReedSolomon) {
    const psk = randomBytes(32);
    this.dialer = Session.dial({ now: 0, wallNow: this.wallEpoch, psk, pathIds: [0], rng: cryptoRng, fec });
    this.listener = new Listener({ psk, rng: cryptoRng, fec });
  }

  get done(): boolean {
    return this.now >= WARM_UP_LIMIT_MS || this.delivered >= 2 * WARM_UP_BYTES;
  }

  /** Runs until done or `budgetMs` of real time passed (read through `clock`). */
  step(clock: () => number, budgetMs: number): void {
    const until = clock() + budgetMs;
    while (!this.done && clock() < until) this.tick();
    if (this.done) {
      this.dialer.close(this.now, 'warm-up done');
      this.accepted?.close(this.now, 'warm-up done');
    }
  }

  private tick(): void {
    const { dialer, inFlight } = this;
    const now = this.now;
    while (inFlight.length > 0 && inFlight[0].at <= now) {
      const d = inFlight.shift()!;
      if (!d.toListener) {
        dialer.handleDatagram(now, 0, d.bytes);
        continue;
      }
      const r = this.listener.handleDatagram(now, this.wallEpoch + now, d.bytes);
      if (r.kind === 'accepted') {
        this.accepted = r.session;
        inFlight.push({ at: now + LINK_DELAY_MS, toListener: false, bytes: r.reply });
      }
    }
    const accepted = this.accepted;
    for (const s of [dialer, accepted]) {
      if (s === null) continue;
      const due = s.nextTimeout();
      if (due !== null && due <= now) s.handleTimeout(now);
      for (let e = s.pollEvent(); e !== null; e = s.pollEvent()) {
        if (e.type === 'streamOpened' && s === accepted) this.down = e.streamId;
      }
    }
    if (this.up < 0 && dialer.isConnected) this.up = dialer.openStream('')!;
    if (this.up >= 0 && this.sent < WARM_UP_BYTES) this.sent += dialer.streamWrite(this.up, this.chunk.subarray(0, Math.min(this.chunk.length, WARM_UP_BYTES - this.sent)));
    if (accepted !== null && this.down >= 0) {
      this.read(accepted, this.down);
      accepted.streamWrite(this.down, this.chunk);
    }
    if (this.up >= 0) this.read(dialer, this.up);
    this.send(dialer, true);
    if (accepted !== null) this.send(accepted, false);
    let next = inFlight.length > 0 ? inFlight[0].at : Infinity;
    for (const s of [dialer, accepted]) {
      const t = s?.nextTimeout() ?? null;
      if (t !== null && t < next) next = t;
    }
    this.now = Math.max(now + 0.001, Math.min(next, now + 1));
  }

  private send(session: Session, toListener: boolean): void {
    for (let t = session.pollTransmit(this.now); t !== null; t = session.pollTransmit(this.now)) {
      this.inFlight.push({ at: this.now + LINK_DELAY_MS, toListener, bytes: t.bytes });
    }
  }

  private read(session: Session, id: number): void {
    for (let r = session.streamRead(id); r !== null && r !== 'fin'; r = session.streamRead(id)) this.delivered += r.length;
  }
}

/**
 * Warms the data path up in the background: a slice per turn of the event loop (after I/O, so
 * real packets go first) until done, pausing while `busy()` says a real stream is open. Resolves
 * with the bytes pushed through.
 *
 * Paused, not stopped: a first connection that comes and goes (a player probing the service, a
 * TCP health check on the entry relay's port) used to end the warm-up for good, however little of
 * it had run, and the first viewer after it met relays still compiling their data path.
 */
export function warmUpInBackground(warm: WarmUp, busy: () => boolean): Promise<number> {
  const clock = (): number => performance.now();
  return new Promise((resolve) => {
    const slice = (): void => {
      if (warm.done) {
        resolve(warm.delivered);
        return;
      }
      if (busy()) {
        setTimeout(slice, BUSY_RECHECK_MS).unref();
        return;
      }
      warm.step(clock, SLICE_MS);
      setTimeout(slice, 1).unref();
    };
    // Unreferenced: a relay told to stop does not wait for its warm-up.
    setTimeout(slice, 1).unref();
  });
}
