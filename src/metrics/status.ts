/**
 * What a relay looks like right now: one plain-data snapshot built from the core's `stats()`, the
 * transport's sessions and the relay's streams. `/status` serves it as JSON, `/metrics` turns it
 * into Prometheus samples, `/healthz` reduces it to ok or not, and `bering status` draws it.
 * Building one costs a `stats()` call per session: cheap, and only done when someone asks. The
 * relay gathers it (src/relay/status.ts); this module only shapes it.
 */
import type { Problem } from '../io/diagnosis.ts';
import type { SessionView } from '../io/transport.ts';
import type { ListenerStats } from '../session/listener.ts';
import type { SessionStats } from '../session/stats.ts';

/**
 * A path's state for operators: `suspect` is a path not proven yet (the core's `validating`: a
 * PATH_CHALLENGE is out, just after start-up or while it is re-admitted after an outage).
 */
export type PathState = 'up' | 'suspect' | 'down';

/** Every state, in the order `bering status` and the dashboard list them. */
export const PATH_STATES: readonly PathState[] = ['up', 'suspect', 'down'];

/** One path of one session. Rates and sizes in bytes, times in milliseconds. */
export interface PathStatus {
  id: number;
  /** The far end's address for this path. */
  peer: string;
  state: PathState;
  /** Smoothed RTT (RFC 9002 §5.3); the configured initial RTT until the first sample (`minRttMs` null). */
  srttMs: number;
  /** Lowest RTT seen; null before the first sample. */
  minRttMs: number | null;
  /**
   * The loss estimate FEC is sized by: raw loss of what we send on this path as the peer
   * measures it, 0..1 (before FEC and ARQ), smoothed over ~5,000 packets and started from a 2%
   * prior; null until the peer has reported on any packet. For the loss measured alone, use
   * `reportedLostPackets` / `reportedPackets`.
   */
  lossRatio: number | null;
  /** Mean length of a loss run on this path, packets; null until measured, as `lossRatio`. */
  meanLossBurst: number | null;
  /** Packets the peer's loss reports have covered (the estimate is settled from about 5,000). */
  lossMeasuredPackets: number;
  /** Running totals of the peer's loss reports on what we sent here: packets covered, and lost (raw, before FEC). */
  reportedPackets: number;
  reportedLostPackets: number;
  pacingRateBytesPerSecond: number;
  cwndBytes: number;
  bytesInFlight: number;
  /** The congestion controller's phase (startup, drain, probe_bw, ...). */
  ccState: string;
  /** Its model: bottleneck estimate, delay floor, app-limited, loss thresholds (see SessionStats). */
  cc?: SessionStats['paths'][number]['model'];
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Packets we sent that ARQ declared lost (FEC-repaired ones are acknowledged, not counted). */
  packetsLost: number;
  retransmittedFrames: number;
  probeTimeouts: number;
  /** Packets the peer sent on this path that were lost and restored by our FEC decoder. */
  fecRestoredPackets: number;
  fecRepairPacketsSent: number;
}

/** The FEC group shape of one lane: m repair packets per k source packets, interleaved `depth` deep. */
export interface FecShape {
  k: number;
  m: number;
  depth: number;
}

/** Session-wide figures from the core. */
export interface SessionFigures {
  activeStreams: number;
  streamsOpened: number;
  streamsReset: number;
  /** Stream bytes the application handed to the session, and read from it. */
  bytesWritten: number;
  bytesRead: number;
  retransmittedBytes: number;
  /** Datagrams dropped: unauthenticated, replayed or of no live session. */
  packetsDropped: number;
  fecRestoredPackets: number;
  fecFailedGroups: number;
  /** Key updates done by this side's sender, and followed for the peer's (every 120 s by default). */
  keyUpdates: { sent: number; received: number };
  /** Current FEC shape per lane; null while that lane sends no repairs. */
  fec: { bulk: FecShape | null; latency: FecShape | null };
}

export interface SessionStatus {
  /**
   * The session's name on both relays (the logs' `tunnel`: the dialer's id then the listener's,
   * in hex); this relay's own id while it is still handshaking.
   */
  id: string;
  /** This relay's id of the session, as the logs' `sessionId` shows it. */
  localId: number;
  /** The worker thread that runs it, on a relay with `--workers` (the logs' `worker`); absent otherwise. */
  worker?: number;
  /** False while handshaking or closing. */
  connected: boolean;
  /** Seconds since the handshake completed; null while handshaking. */
  upSeconds: number | null;
  paths: PathStatus[];
  /** Null for a core that keeps no statistics (the test double). */
  figures: SessionFigures | null;
}

export interface StreamStatus {
  sessionId: string;
  streamId: number;
  /** The service it asked for; '' for the unnamed one. */
  service: string;
  /** The TCP side: the viewer's address (entry) or the service's (exit). */
  tcp: string;
  bytesFromTcp: number;
  bytesToTcp: number;
  ageSeconds: number;
}

/** Streams of the relay since it started, live ones included. */
export interface StreamTotalsStatus {
  open: number;
  opened: number;
  finished: number;
  /** Streams that ended in a reset (either side, a failed connect, a session that died). */
  reset: number;
  /** Bytes read from TCP connections into the tunnel, and written from the tunnel to TCP. */
  bytesFromTcp: number;
  bytesToTcp: number;
  /** Entry: viewers' connections reset because their address held `--max-conns-per-ip` already. */
  connectionsRefusedPerIp: number;
}

export interface Health {
  ok: boolean;
  reason: string;
}

/** The whole snapshot, as `/status` serves it. */
export interface RelayStatus {
  role: 'entry' | 'exit';
  /** Whether this relay dials the other (`--peer`) rather than waits for it. */
  dials: boolean;
  version: string;
  uptimeSeconds: number;
  health: Health;
  /** What is wrong, in words, with what to check (see src/io/diagnosis.ts); empty when nothing is. */
  problems: Problem[];
  /** Entry: one TCP listener per service; exit: the UDP addresses it accepts paths on. */
  listening: { tcp: Array<{ service: string; address: string }>; udp: string[] };
  /** Handshakes completed since start. */
  handshakes: number;
  /** The listening side's refusals; null on a dialing relay. */
  listener: ListenerStats | null;
  totals: StreamTotalsStatus;
  sessions: SessionStatus[];
  streams: StreamStatus[];
}


function pathState(state: 'validating' | 'up' | 'down'): PathState {
  return state === 'validating' ? 'suspect' : state;
}

function pathStatus(view: SessionView, p: SessionStats['paths'][number]): PathStatus {
  const c = p.counters;
  return {
    id: p.id,
    peer: view.pathPeer(p.id),
    state: pathState(p.state),
    srttMs: p.srttMs,
    minRttMs: Number.isFinite(p.minRttMs) ? p.minRttMs : null,
    lossRatio: p.lossMeasuredPackets > 0 ? p.reportedLossRate : null,
    meanLossBurst: p.lossMeasuredPackets > 0 ? p.reportedMeanBurst : null,
    lossMeasuredPackets: p.lossMeasuredPackets,
    reportedPackets: c.reportedReceived + c.reportedLost,
    reportedLostPackets: c.reportedLost,
    pacingRateBytesPerSecond: Number.isFinite(p.pacingRateMbps) ? (p.pacingRateMbps * 1e6) / 8 : 0,
    cwndBytes: p.cwnd,
    bytesInFlight: p.bytesInFlight,
    ccState: p.ccState,
    cc: p.model,
    packetsSent: c.packetsSent,
    bytesSent: c.bytesSent,
    packetsReceived: c.packetsReceived,
    bytesReceived: c.bytesReceived,
    packetsLost: c.packetsLost,
    retransmittedFrames: c.retransmittedFrames,
    probeTimeouts: c.ptoCount,
    fecRestoredPackets: c.fecRestored,
    fecRepairPacketsSent: c.fecRepairsSent,
  };
}

/** One session's part of {@link RelayStatus}. */
export function sessionStatus(view: SessionView): SessionStatus {
  const { session } = view;
  const stats = session.stats?.() ?? null;
  return {
    id: session.tunnelId ?? String(session.id),
    localId: session.id,
    connected: session.isConnected,
    upSeconds: view.connectedForMs === null ? null : view.connectedForMs / 1000,
    paths: stats === null ? [] : stats.paths.map((p) => pathStatus(view, p)),
    figures:
      stats === null
        ? null
        : {
            activeStreams: stats.activeStreams,
            streamsOpened: stats.streamsOpened,
            streamsReset: stats.streamsReset,
            bytesWritten: stats.bytesWritten,
            bytesRead: stats.bytesRead,
            retransmittedBytes: stats.retransmittedBytes,
            packetsDropped: stats.packetsDropped,
            fecRestoredPackets: stats.fecRestoredPackets,
            fecFailedGroups: stats.fecFailedGroups,
            keyUpdates: { ...stats.keyUpdates },
            fec: { bulk: stats.fec.bulk, latency: stats.fec.latency },
          },
  };
}

/** Problems that explain why there is no tunnel: shown after the reason. */
const TUNNEL_PROBLEMS: ReadonlySet<Problem['kind']> = new Set(['peer-unreachable', 'wrong-key', 'clock-skew']);

/**
 * Whether the relay can do its job now, judged by its role (not by who dials). An entry relay
 * needs a session with at least one path up, or viewers' connections go nowhere. An exit relay
 * needs its services to accept connections (a service that refused the last one fails new
 * streams), and, when it is the side that dials, a session too; a listening exit relay cannot
 * make the other side dial, so it is healthy while it listens. A 503's reason names the current
 * problems that explain it.
 */
export function healthOf(role: 'entry' | 'exit', dials: boolean, sessions: SessionStatus[], udp: string[], problems: Problem[]): Health {
  const tunnel = tunnelHealth(dials, sessions);
  const explain = (reason: string): string => {
    const why = problems.filter((p) => TUNNEL_PROBLEMS.has(p.kind)).map((p) => p.message);
    return [reason, ...why].join('; ');
  };
  if (role === 'exit') {
    const forward = problems.filter((p) => p.kind === 'forward-failed');
    if (forward.length > 0) return { ok: false, reason: `${forward.map((p) => p.message).join('; ')}: new streams fail` };
    if (!dials) {
      const live = sessions.filter((s) => s.connected).length;
      return { ok: true, reason: `listening on ${udp.join(', ') || 'WebRTC'}; ${live} session${live === 1 ? '' : 's'} up` };
    }
  }
  return tunnel.ok ? tunnel : { ok: false, reason: explain(tunnel.reason) };
}

/** Whether there is a session with a path up; otherwise what the relay is waiting for. */
function tunnelHealth(dials: boolean, sessions: SessionStatus[]): Health {
  const session = sessions.find((s) => s.connected);
  if (session === undefined) {
    if (!dials) return { ok: false, reason: 'no tunnel session: waiting for the other relay to dial in' };
    return { ok: false, reason: sessions.length > 0 ? 'no tunnel session: handshaking' : 'no tunnel session: waiting to redial' };
  }
  const up = session.paths.filter((p) => p.state === 'up').length;
  // A core without statistics (the test double) reports no paths; its session is all we know.
  if (session.paths.length > 0 && up === 0) return { ok: false, reason: `session ${session.id} up, but no path is up` };
  return { ok: true, reason: `session ${session.id} up with ${up} of ${session.paths.length} paths up` };
}

/** What a relay whose sessions run in worker threads knows itself, beside its workers' snapshots. */
export interface ShardedRelayFacts {
  version: string;
  uptimeSeconds: number;
  /** The UDP addresses its main thread reads. */
  udp: string[];
  /** Datagrams the main thread dropped as none of ours before any worker saw them. */
  unroutable: number;
  /** The main thread's own problems (socket buffers). */
  problems: Problem[];
}

/**
 * One snapshot of a relay from its workers' (each a listening exit relay over a share of the
 * sessions), by worker number: sessions (each marked with its worker), streams and counters
 * together, one problem per kind and subject (the latest report), health judged on the whole.
 */
export function combineShardStatuses(parts: ReadonlyMap<number, RelayStatus>, facts: ShardedRelayFacts): RelayStatus {
  const problems = new Map<string, Problem>();
  const statuses = [...parts.values()];
  for (const p of [...facts.problems, ...statuses.flatMap((s) => s.problems)]) {
    const key = `${p.kind}\0${p.subject}`;
    const seen = problems.get(key);
    if (seen === undefined) {
      problems.set(key, p);
      continue;
    }
    const latest = p.lastAt > seen.lastAt ? p : seen;
    problems.set(key, { ...latest, firstAt: Math.min(p.firstAt, seen.firstAt), count: p.count + seen.count });
  }
  const listener = statuses.reduce<ListenerStats | null>((sum, s) => {
    if (s.listener === null) return sum;
    if (sum === null) return { ...s.listener };
    for (const k of Object.keys(sum) as Array<keyof ListenerStats>) sum[k] += s.listener[k];
    return sum;
  }, null);
  if (listener !== null) listener.authFailures += facts.unroutable;
  const totals: StreamTotalsStatus = { open: 0, opened: 0, finished: 0, reset: 0, bytesFromTcp: 0, bytesToTcp: 0, connectionsRefusedPerIp: 0 };
  for (const s of statuses) for (const k of Object.keys(totals) as Array<keyof StreamTotalsStatus>) totals[k] += s.totals[k];
  const sessions = [...parts].flatMap(([worker, s]) => s.sessions.map((session) => ({ ...session, worker })));
  const list = [...problems.values()];
  return {
    role: 'exit',
    dials: false,
    version: facts.version,
    uptimeSeconds: facts.uptimeSeconds,
    health: healthOf('exit', false, sessions, facts.udp, list),
    problems: list,
    listening: { tcp: [], udp: facts.udp },
    handshakes: statuses.reduce((n, s) => n + s.handshakes, 0),
    listener,
    totals,
    sessions,
    streams: statuses.flatMap((s) => s.streams),
  };
}
