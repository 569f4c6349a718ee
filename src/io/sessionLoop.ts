/**
 * The one clock-and-timer loop of a process: it feeds every live session its timeouts, pulls
 * what each has to send and the events it raised, and keeps a single timer armed at the earliest
 * `nextTimeout()` of all of them.
 *
 * Work is coalesced: inputs (datagrams, TCP data handed to streams) only call {@link wake}, and
 * one flush runs in the check phase after Node has dispatched every I/O callback of this turn of
 * the event loop. A burst of datagrams thus costs one pass over the sessions, not one per packet.
 */
import type { SessionEvent, Transmit } from '../session/api.ts';
import type { Millis } from '../base/time.ts';
import type { CoreSession } from './core.ts';

/** Where the loop delivers one session's output. */
export interface SessionSink {
  /** Sends one datagram; `bytes` belongs to the callee. */
  transmit(t: Transmit): void;
  /** Handles one event. May call into any session: the loop drains again afterwards. */
  event(session: CoreSession, event: SessionEvent): void;
}

/**
 * Passes over the sessions within one flush while event handlers keep producing work; past this,
 * the rest waits for the next turn of the event loop so sockets and timers get their share.
 */
const MAX_ROUNDS = 8;

/** Runs sessions over a real clock; one instance per process (or per in-process relay in tests). */
export class SessionLoop {
  private readonly sessions = new Map<CoreSession, SessionSink>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private immediate: NodeJS.Immediate | null = null;
  private dirty = false;
  private flushing = false;

  /** `clock` is monotonic milliseconds; tests may inject their own. */
  constructor(readonly clock: () => Millis = () => performance.now()) {}

  /** Starts driving `session`; its transmits and events go to `sink`. */
  add(session: CoreSession, sink: SessionSink): void {
    this.sessions.set(session, sink);
    this.wake();
  }

  /** Stops driving `session` (after its `closed` event, or once the driver closed it). */
  remove(session: CoreSession): void {
    this.sessions.delete(session);
  }

  /** Number of sessions being driven. */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * Call after feeding a session anything (a datagram, stream data, a read that frees window):
   * schedules one flush for the end of this turn of the event loop. Cheap; call freely.
   */
  wake(): void {
    this.dirty = true;
    if (this.immediate === null && !this.flushing) this.immediate = setImmediate(this.runFlush);
  }

  /**
   * Handles due timeouts, sends every pending transmit and dispatches every pending event of all
   * sessions, then re-arms the timer. Runs by itself after {@link wake} and when the timer fires;
   * call it directly only when output must leave before the caller returns (shutdown).
   */
  flush(): void {
    if (this.immediate !== null) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    this.flushing = true;
    try {
      let rounds = 0;
      do {
        this.dirty = false;
        for (const [session, sink] of this.sessions) this.drive(session, sink);
      } while (this.dirty && ++rounds < MAX_ROUNDS);
    } finally {
      this.flushing = false;
    }
    if (this.dirty) this.immediate = setImmediate(this.runFlush);
    this.arm();
  }

  private readonly runFlush = (): void => {
    this.immediate = null;
    this.flush();
  };

  private readonly onTimer = (): void => {
    this.timer = null;
    this.timerAt = Infinity;
    this.flush();
  };

  private drive(session: CoreSession, sink: SessionSink): void {
    const now = this.clock();
    const due = session.nextTimeout();
    if (due !== null && due <= now) session.handleTimeout(now);
    for (let t = session.pollTransmit(now); t !== null; t = session.pollTransmit(now)) sink.transmit(t);
    let sawEvent = false;
    for (let e = session.pollEvent(); e !== null; e = session.pollEvent()) {
      sawEvent = true;
      sink.event(session, e);
    }
    // A handler may have written to or read from this session: send what that produced now.
    if (sawEvent) this.dirty = true;
  }

  private arm(): void {
    let earliest = Infinity;
    for (const session of this.sessions.keys()) {
      const t = session.nextTimeout();
      if (t !== null && t < earliest) earliest = t;
    }
    if (earliest === Infinity) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      this.timerAt = Infinity;
      return;
    }
    // An earlier timer already armed fires first and re-arms; an early wake-up is harmless.
    if (this.timer !== null && this.timerAt <= earliest) return;
    if (this.timer !== null) clearTimeout(this.timer);
    // setTimeout counts whole milliseconds (at least 1); rounding up avoids a wasted early pass,
    // and the core's pacer releases everything that fell due in the meantime.
    const delay = Math.max(1, Math.ceil(earliest - this.clock()));
    this.timerAt = earliest;
    this.timer = setTimeout(this.onTimer, delay);
  }
}
