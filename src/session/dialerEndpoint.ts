/**
 * The dialing side's endpoint: the sessions a dial's paths carry, and whether the peer restarted.
 * Sans-IO, in the role quinn-proto's `Endpoint` plays beside its connections: the driver (the
 * `io/` dialer, or a simulator node) feeds it datagrams, session events, refused paths and
 * `now`; it asks {@link nextTimeout} when to call {@link handleTimeout}, drives every session of
 * {@link sessions} and acts on {@link pollEvent}.
 *
 * A peer that restarted has forgotten the session, and drops its packets without a word, so the
 * session would only end at its idle timeout. To find out sooner, once the session has heard
 * nothing for `silenceMs` (the peers ping each other every second, so this never happens on a
 * live tunnel) the endpoint handshakes a second session, the restart check, over the same paths.
 * If the peer answers it, the peer is reachable; if the old session then still hears nothing for
 * `graceMs` plus three round trips (time for its path probes, sent every 500 ms, to be answered),
 * the peer has lost it: the old session is closed (its streams reset) and the check takes its
 * place. If the old session hears from the peer first (a path that was only dark), the check is
 * dropped and nothing changes. When every path was refused by the peer's host (ICMP port
 * unreachable: no process on that port) since the old session last heard anything, the process
 * it knew is gone for sure, and the check takes over without the wait.
 */
import type { Millis, UnixMillis } from '../base/time.ts';
import { isHandshakeResponse } from '../wire/handshake.ts';
import { peekSessionId } from '../wire/packet.ts';
import type { PathId, Receipt, SessionEvent } from './api.ts';
import type { SessionConfig } from './config.ts';

/** When the endpoint checks whether its peer restarted; see the module comment. */
export interface RestartCheck {
  /** Silence (no authenticated packet) after which a second handshake is tried. */
  silenceMs: number;
  /** After that handshake succeeds, how long the old session may take to hear from the peer, on top of 3 minimum RTTs. */
  graceMs: number;
}

/**
 * 1.5 s: well above the longest gap between packets of a live tunnel (keep-alive pings every
 * second each way). 600 ms: the old session probes its silent paths every 500 ms.
 */
export const DEFAULT_RESTART_CHECK: RestartCheck = { silenceMs: 1500, graceMs: 600 };

/** Handshake retransmission of the restart check: brisk, since the peer may come back any moment. */
const CHECK_HANDSHAKE_RETRY_MS = 150;
/** Assumed RTT when the session has measured none. */
const DEFAULT_RTT_MS = 200;

/** What the endpoint needs of a session (the core's `Session` has it all). */
export interface EndpointSession {
  readonly id: number;
  readonly isConnected: boolean;
  readonly isClosed: boolean;
  handleDatagram(now: Millis, pathId: PathId, bytes: Uint8Array): Receipt;
  close(now: Millis, reason: string): void;
  stats?(): { paths: ReadonlyArray<{ minRttMs: number }> };
}

/** Starts a dialer-side session over `pathIds`, with `overrides` of its config. */
export type EndpointDialFn<S> = (now: Millis, wallNow: UnixMillis, pathIds: PathId[], overrides?: Partial<SessionConfig>) => S;

/** What the endpoint did on its own, for the driver to act on (log, drive, tell the application). */
export type EndpointEvent<S> =
  /** The session went silent: `check` handshakes over the same paths; drive it. */
  | { type: 'checkStarted'; session: S; check: S; silentMs: number }
  /** The check is over and the session stays (the peer answered it, or the check failed). */
  | { type: 'checkEnded'; check: S; reason: string }
  /** The peer restarted: `session` (the check, connected at `connectedAt`) replaces `old`, which is closing. */
  | { type: 'replaced'; session: S; old: S | null; silentMs: number; connectedAt: Millis }
  /** The session closed while the check was still handshaking: the check is the dial now. */
  | { type: 'promoted'; session: S; dialedAt: Millis };

export class DialerEndpoint<S extends EndpointSession> {
  private readonly dialFn: EndpointDialFn<S>;
  private readonly restartCheck: RestartCheck;
  private current: S | null = null;
  private check: S | null = null;
  private checkStartedAt: Millis = 0;
  private checkConnectedAt: Millis | null = null;
  /** Sessions replaced after a peer restart, closing: the application still sees their events (resets). */
  private readonly retired = new Set<S>();
  /** Checks no longer needed, sending their close; the application never saw them. */
  private readonly dropped = new Set<S>();
  private pathIds: PathId[] = [];
  /** Paths whose refusals mean something (UDP sockets); a WebRTC path is never refused. */
  private refusable: ReadonlySet<PathId> = new Set();
  private refusedAt = new Map<PathId, Millis>();
  /** When the current session last authenticated a packet (or connected). */
  private lastHeardAt: Millis = 0;
  private readonly events: Array<EndpointEvent<S>> = [];

  constructor(opts: { dial: EndpointDialFn<S>; restartCheck?: RestartCheck }) {
    this.dialFn = opts.dial;
    this.restartCheck = opts.restartCheck ?? DEFAULT_RESTART_CHECK;
  }

  /** The session the application uses: the dial's, or the check that replaced it. */
  get session(): S | null {
    return this.current;
  }

  /** Every session the driver must drive (transmits, timeouts, events) until it closes. */
  sessions(): S[] {
    return [this.current, this.check, ...this.retired, ...this.dropped].filter((s): s is S => s !== null);
  }

  /**
   * Starts a dial over `pathIds` (after the driver opened them), of which `refusable` can report
   * refusals; call once no session is left (none yet, or the last one closed).
   */
  dial(now: Millis, wallNow: UnixMillis, pathIds: PathId[], refusable: readonly PathId[]): S {
    this.pathIds = pathIds;
    this.refusable = new Set(refusable);
    this.refusedAt = new Map();
    this.current = this.dialFn(now, wallNow, pathIds);
    return this.current;
  }

  /** Feeds a datagram that arrived on `pathId` of the dial to the session it is for. */
  handleDatagram(now: Millis, pathId: PathId, bytes: Uint8Array): void {
    const check = this.check;
    if (check !== null && (isHandshakeResponse(bytes) || peekSessionId(bytes) === check.id)) {
      check.handleDatagram(now, pathId, bytes);
    } else if (this.current !== null && this.current.handleDatagram(now, pathId, bytes) === 'accepted') {
      this.lastHeardAt = now;
      // The peer still knows the session: it did not restart, a path was only dark.
      if (check !== null) this.endCheck(now, 'the peer answered the current session');
    }
  }

  /** The peer's host refused a datagram on `pathId` (ICMP port unreachable). */
  pathRefused(now: Millis, pathId: PathId): void {
    if (this.refusable.has(pathId)) this.refusedAt.set(pathId, now);
  }

  /** Whether `pathId` of the current dial was ever refused (for the driver's diagnosis). */
  wasRefused(pathId: PathId): boolean {
    return this.refusedAt.has(pathId);
  }

  /**
   * Feeds an event polled from one of {@link sessions}. Returns whether the application should
   * see it: the current session's and a replaced one's (its streams' resets), never the check's.
   */
  handleEvent(now: Millis, session: S, e: SessionEvent): boolean {
    if (session === this.check) {
      this.checkEvent(now, session, e);
      return false;
    }
    if (this.dropped.has(session)) {
      if (e.type === 'closed') this.dropped.delete(session);
      return false;
    }
    if (this.retired.has(session)) {
      if (e.type === 'closed') this.retired.delete(session);
      return true;
    }
    if (session !== this.current) return false;
    if (e.type === 'connected') this.lastHeardAt = now;
    if (e.type === 'closed') this.currentClosed(now);
    return true;
  }

  /** When to call {@link handleTimeout}; null when nothing is watched. */
  nextTimeout(): Millis | null {
    const current = this.current;
    if (current === null || !current.isConnected) return null;
    if (this.check === null) return this.lastHeardAt + this.restartCheck.silenceMs;
    return this.checkConnectedAt === null ? null : this.checkConnectedAt + this.graceMs(current);
  }

  /** Starts or concludes a restart check when due; a call before then does nothing. */
  handleTimeout(now: Millis, wallNow: UnixMillis): void {
    const current = this.current;
    if (current === null || !current.isConnected) return;
    const silentMs = now - this.lastHeardAt;
    if (this.check === null) {
      if (silentMs >= this.restartCheck.silenceMs) this.startCheck(current, now, wallNow, silentMs);
    } else if (this.checkConnectedAt !== null && (this.peerProcessGone() || now - this.checkConnectedAt >= this.graceMs(current))) {
      this.replace(current, this.check, now);
    }
  }

  /** The next thing the endpoint did on its own; null when there is none. */
  pollEvent(): EndpointEvent<S> | null {
    return this.events.shift() ?? null;
  }

  /** Every path can report refusals and each refused since the session last heard from the peer. */
  private peerProcessGone(): boolean {
    if (this.pathIds.length === 0 || this.pathIds.some((id) => !this.refusable.has(id))) return false;
    return this.pathIds.every((id) => (this.refusedAt.get(id) ?? -Infinity) > this.lastHeardAt);
  }

  /**
   * How long the old session may stay silent once the peer answered the restart check: its next
   * path probe and the answer's round trip. The minimum RTT, not the smoothed one: a transfer's
   * queues inflate the latter, and they have drained by now.
   */
  private graceMs(session: S): Millis {
    const rtts = (session.stats?.().paths ?? []).map((p) => p.minRttMs).filter((r) => Number.isFinite(r));
    return this.restartCheck.graceMs + 3 * (rtts.length === 0 ? DEFAULT_RTT_MS : Math.max(...rtts));
  }

  private startCheck(session: S, now: Millis, wallNow: UnixMillis, silentMs: number): void {
    const check = this.dialFn(now, wallNow, this.pathIds, { handshakeRetryMs: CHECK_HANDSHAKE_RETRY_MS });
    this.check = check;
    this.checkStartedAt = now;
    this.checkConnectedAt = null;
    this.events.push({ type: 'checkStarted', session, check, silentMs });
  }

  private checkEvent(now: Millis, check: S, e: SessionEvent): void {
    if (e.type === 'connected') {
      this.checkConnectedAt = now;
      // The current session may have died meanwhile, or its peer is gone: nothing to wait for.
      if (this.current === null || !this.current.isConnected || this.peerProcessGone()) this.replace(this.current, check, now);
    } else if (e.type === 'closed') {
      this.check = null;
      this.events.push({ type: 'checkEnded', check, reason: e.reason });
    }
  }

  /** Drops the check (the peer is told, if it answered); it leaves once its close is out. */
  private endCheck(now: Millis, reason: string): void {
    const check = this.check!;
    this.check = null;
    check.close(now, reason);
    this.dropped.add(check);
    this.events.push({ type: 'checkEnded', check, reason });
  }

  /** The peer restarted: `check` becomes the session; the old one is closed, resetting its streams. */
  private replace(old: S | null, check: S, now: Millis): void {
    this.events.push({ type: 'replaced', session: check, old, silentMs: now - this.lastHeardAt, connectedAt: this.checkConnectedAt ?? now });
    this.check = null;
    this.current = check;
    this.lastHeardAt = now;
    if (old !== null && !old.isClosed) {
      this.retired.add(old);
      old.close(now, 'the peer restarted');
    }
  }

  /** The current session closed: a check under way takes over; otherwise the dial is over. */
  private currentClosed(now: Millis): void {
    const check = this.check;
    if (check === null) {
      this.current = null;
      return;
    }
    if (this.checkConnectedAt !== null) {
      this.replace(null, check, now);
      return;
    }
    this.check = null;
    this.current = check;
    this.events.push({ type: 'promoted', session: check, dialedAt: this.checkStartedAt });
  }
}
