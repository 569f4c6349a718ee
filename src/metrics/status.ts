/**
 * What a relay looks like right now: one plain-data snapshot built from the core's `stats()`, the
 * transport's sessions and the relay's streams. `/status` serves it as JSON, `/metrics` turns it
 * into Prometheus samples, `/healthz` reduces it to ok or not, and `bering status` draws it.
 * Building one costs a `stats()` call per session: cheap, and only done when someone asks.
 */
import { formatHostPort } from '../io/address.ts';
import type { SessionView } from '../io/transport.ts';
import { UdpListener } from '../io/udpListener.ts';
import type { Relay } from '../relay/startRelay.ts';
import type { ListenerStats } from '../session/listener.ts';
import type { SessionStats } from '../session/session.ts';

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
  /** Raw loss of what we send on this path as the peer measures it, 0..1 (before FEC and ARQ). */
  lossRatio: number;
  /** Mean length of a loss run on this path, packets. */
  meanLossBurst: number;
  pacingRateBytesPerSecond: number;
  cwndBytes: number;
  bytesInFlight: number;
  /** The congestion controller's phase (startup, drain, probe_bw, ...). */
  ccState: string;
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
  /** Current FEC shape per lane; null while that lane sends no repairs. */
  fec: { bulk: FecShape | null; latency: FecShape | null };
}

export interface SessionStatus {
  /** Session id, as the logs' `sessionId` shows it. */
  id: string;
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
  version: string;
  uptimeSeconds: number;
  health: Health;
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

/** A session id as the `session` label and in `/status`: the same digits as the logs' `sessionId`. */
function sessionLabel(id: number): string {
  return String(id);
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
    lossRatio: p.reportedLossRate,
    meanLossBurst: p.reportedMeanBurst,
    pacingRateBytesPerSecond: Number.isFinite(p.pacingRateMbps) ? (p.pacingRateMbps * 1e6) / 8 : 0,
    cwndBytes: p.cwnd,
    bytesInFlight: p.bytesInFlight,
    ccState: p.ccState,
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

function sessionStatus(view: SessionView): SessionStatus {
  const { session } = view;
  const stats = session.stats?.() ?? null;
  return {
    id: sessionLabel(session.id),
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
            fec: { bulk: stats.fec.bulk, latency: stats.fec.latency },
          },
  };
}

/**
 * Whether the relay can carry traffic now. A listening relay (`--udp-listen`) is healthy while it
 * listens: it cannot make the other side dial. A dialing relay is healthy while it has a session
 * with at least one path up; otherwise the reason says what it is waiting for.
 */
export function healthOf(dials: boolean, sessions: SessionStatus[], udp: string[]): Health {
  if (!dials) {
    const live = sessions.filter((s) => s.connected).length;
    return { ok: true, reason: `listening on ${udp.join(', ')}; ${live} session${live === 1 ? '' : 's'} up` };
  }
  const session = sessions.find((s) => s.connected);
  if (session === undefined) {
    return { ok: false, reason: sessions.length > 0 ? 'no tunnel session: handshaking' : 'no tunnel session: waiting to redial' };
  }
  const up = session.paths.filter((p) => p.state === 'up').length;
  // A core without statistics (the test double) reports no paths; its session is all we know.
  if (session.paths.length > 0 && up === 0) return { ok: false, reason: `session ${session.id} up, but no path is up` };
  return { ok: true, reason: `session ${session.id} up with ${up} of ${session.paths.length} paths up` };
}

/** Takes a snapshot of `relay`; `startedAt` is its start in `performance.now()` milliseconds. */
export function relayStatus(relay: Relay, version: string, startedAt: number): RelayStatus {
  const views = relay.transport.sessionViews();
  const sessions = views.map(sessionStatus);
  const counters = relay.transport.counters();
  const udp = relay.udpAddresses.map(formatHostPort);
  const live = relay.streams();
  const totals = relay.totals;
  return {
    role: relay.role,
    version,
    uptimeSeconds: (performance.now() - startedAt) / 1000,
    health: healthOf(!(relay.transport instanceof UdpListener), sessions, udp),
    listening: { tcp: relay.tcpServices.map((s) => ({ service: s.service, address: formatHostPort(s.listen) })), udp },
    handshakes: counters.handshakes,
    listener: counters.listener,
    totals: {
      open: live.length,
      opened: totals.opened,
      finished: totals.finished,
      reset: totals.aborted,
      bytesFromTcp: live.reduce((n, s) => n + s.bytesFromTcp, totals.bytesFromTcp),
      bytesToTcp: live.reduce((n, s) => n + s.bytesToTcp, totals.bytesToTcp),
      connectionsRefusedPerIp: relay.connectionsRefusedPerIp,
    },
    sessions,
    streams: live.map((s) => ({
      sessionId: sessionLabel(s.sessionId),
      streamId: s.streamId,
      service: s.service,
      tcp: s.tcp,
      bytesFromTcp: s.bytesFromTcp,
      bytesToTcp: s.bytesToTcp,
      ageSeconds: s.ageMs / 1000,
    })),
  };
}
