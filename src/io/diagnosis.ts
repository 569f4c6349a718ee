/**
 * What is wrong with a relay right now, in words a self-hoster can act on. The drivers and roles
 * report a problem where they notice it (a handshake under another key, a path that never
 * answers, a service that refuses connections); each report logs one `warn` line saying what to
 * check, at most once a minute per problem, and the problem stays listed (for `/status`,
 * `/healthz`, `bering status` and the `bering_problems` metric) until it is cleared or, for
 * problems nothing can clear (a stranger's handshakes), until it has not recurred for a minute.
 */
import type { Logger } from 'pino';

/**
 * - `wrong-key`: a handshake failed authentication (the peers hold different keys).
 * - `clock-skew`: a handshake's timestamp was over a minute off this relay's clock.
 * - `peer-unreachable`: the dialer's handshake got no answer (nothing there, a firewall, or a key mismatch).
 * - `path-silent`: a path of a live session never answered.
 * - `forward-failed`: the exit relay could not connect to a service.
 * - `socket-buffer`: the kernel gave the UDP sockets smaller buffers than asked for.
 */
export type ProblemKind = 'wrong-key' | 'clock-skew' | 'peer-unreachable' | 'path-silent' | 'forward-failed' | 'socket-buffer';

/** Every kind, in the order the metric lists them. */
export const PROBLEM_KINDS: readonly ProblemKind[] = ['wrong-key', 'clock-skew', 'peer-unreachable', 'path-silent', 'forward-failed', 'socket-buffer'];

/** One problem as `/status` shows it. */
export interface Problem {
  kind: ProblemKind;
  /** What it is about: `path 1`, `forward 10.0.0.5:32400`, `203.0.113.9`. One problem per kind and subject. */
  subject: string;
  /** The log line: what happened and what to check. */
  message: string;
  /** Unix milliseconds of the first and the latest report. */
  firstAt: number;
  lastAt: number;
  /** Reports since it was first seen. */
  count: number;
}

/** At most one log line per problem this often; a problem not reported again for this long is over. */
const REPEAT_MS = 60_000;

/** Kinds that no event clears: they are over once they stop recurring. */
const FADING: ReadonlySet<ProblemKind> = new Set(['wrong-key', 'clock-skew']);

/** The relay's list of current problems; see the module comment. */
export class Diagnostics {
  private readonly problems = new Map<string, Problem & { loggedAt: number }>();

  constructor(
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Records a problem and logs `message` at `warn` unless the same problem was logged within the
   * last minute. `fields` go into the log line only. Cheap: call it on every occurrence.
   */
  report(kind: ProblemKind, subject: string, message: string, fields: Record<string, unknown> = {}): void {
    const now = this.clock();
    const key = `${kind}\u0000${subject}`;
    const p = this.problems.get(key);
    if (p === undefined) {
      this.problems.set(key, { kind, subject, message, firstAt: now, lastAt: now, count: 1, loggedAt: now });
    } else {
      p.lastAt = now;
      p.count++;
      p.message = message;
      if (now - p.loggedAt < REPEAT_MS) return;
      p.loggedAt = now;
    }
    this.log.warn({ problem: kind, ...fields }, message);
  }

  /** The problem is over (the path answered, the service accepted a connection); logs that once. */
  clear(kind: ProblemKind, subject: string, message?: string): void {
    const key = `${kind}\u0000${subject}`;
    if (!this.problems.delete(key)) return;
    if (message !== undefined) this.log.info({ problem: kind }, message);
  }

  /** Clears every problem of `kind` (a session's silent paths when the session ends), without a log line. */
  clearAll(kind: ProblemKind): void {
    for (const [key, p] of this.problems) if (p.kind === kind) this.problems.delete(key);
  }

  /** Current problems, oldest first. */
  list(): Problem[] {
    const now = this.clock();
    const out: Problem[] = [];
    for (const [key, p] of this.problems) {
      if (FADING.has(p.kind) && now - p.lastAt > REPEAT_MS) {
        this.problems.delete(key);
        continue;
      }
      out.push({ kind: p.kind, subject: p.subject, message: p.message, firstAt: p.firstAt, lastAt: p.lastAt, count: p.count });
    }
    return out;
  }
}
