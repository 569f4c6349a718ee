/**
 * The Prometheus view of a relay: a prom-client registry whose bering metrics are filled at scrape
 * time from one {@link RelayStatus} snapshot (collect callbacks), so nothing is counted per packet.
 * Names follow Prometheus conventions: a `bering_` prefix, base units (`_seconds`, `_bytes`),
 * `_total` for counters. Per-path series carry `session`, `path` and `peer` labels; a session's
 * series vanish with it. Default Node.js process metrics (CPU, memory, event loop) come along.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { PROBLEM_KINDS } from '../io/diagnosis.ts';
import { PATH_STATES, type PathStatus, type RelayStatus, type SessionStatus } from './status.ts';

type Labels = Record<string, string>;
type Sample = [Labels, number];

/** One bering metric: how to read its samples off a snapshot. */
interface MetricSpec {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labelNames: string[];
  samples(s: RelayStatus): Sample[];
}

const PATH_LABELS = ['session', 'path', 'peer'];

/**
 * A path's labels. `peer` is the far end as this relay knows it: the configured address on a
 * dialing relay; on a listening one the far end's host alone, since its source port is an
 * ephemeral port of the dialer's that changes at every redial, and a label that changes splits
 * the series. `session` is the id both relays show for the session.
 */
function pathLabels(s: RelayStatus, session: SessionStatus, p: PathStatus): Labels {
  return { session: session.id, path: String(p.id), peer: s.dials ? p.peer : hostOf(p.peer) };
}

/** `203.0.113.9` of `203.0.113.9:51234`, `2001:db8::1` of `[2001:db8::1]:51234`. */
function hostOf(address: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(address) ?? /^([^:]*):\d+$/.exec(address);
  return m === null ? address : m[1];
}

/** Samples of one per-path figure; `value` returns null to leave a path out (no sample yet). */
function perPath(s: RelayStatus, value: (p: PathStatus) => number | null): Sample[] {
  return s.sessions.flatMap((session) =>
    session.paths.flatMap((p): Sample[] => {
      const v = value(p);
      return v === null ? [] : [[pathLabels(s, session, p), v]];
    }),
  );
}

/** Samples of one per-session figure, for sessions whose core keeps figures. */
function perSession(s: RelayStatus, value: (f: NonNullable<SessionStatus['figures']>) => number): Sample[] {
  return s.sessions.flatMap((session): Sample[] => (session.figures === null ? [] : [[{ session: session.id }, value(session.figures)]]));
}

/** Samples of the listening side's counters; none on a dialing relay (prom-client then shows 0). */
function listenerCounter(s: RelayStatus, key: keyof NonNullable<RelayStatus['listener']>): Sample[] {
  return s.listener === null ? [] : [[{}, s.listener[key]]];
}

function pathCounter(name: string, help: string, value: (p: PathStatus) => number): MetricSpec {
  return { name, help, type: 'counter', labelNames: PATH_LABELS, samples: (s) => perPath(s, value) };
}

function pathGauge(name: string, help: string, value: (p: PathStatus) => number | null): MetricSpec {
  return { name, help, type: 'gauge', labelNames: PATH_LABELS, samples: (s) => perPath(s, value) };
}

/** Every bering metric. The README's Metrics section and contrib/grafana-dashboard.json use these names. */
export const METRICS: readonly MetricSpec[] = [
  {
    name: 'bering_relay_info',
    help: 'Always 1; the labels say which role this relay plays and its version.',
    type: 'gauge',
    labelNames: ['role', 'version'],
    samples: (s) => [[{ role: s.role, version: s.version }, 1]],
  },
  {
    name: 'bering_up',
    help: '1 when the relay can carry traffic (what /healthz answers 200 for), else 0.',
    type: 'gauge',
    labelNames: [],
    samples: (s) => [[{}, s.health.ok ? 1 : 0]],
  },
  {
    name: 'bering_problems',
    help: 'Current problems by kind (what /status lists under problems, and the log said): wrong-key, clock-skew, peer-unreachable, path-silent, forward-failed, socket-buffer.',
    type: 'gauge',
    labelNames: ['kind'],
    samples: (s) => PROBLEM_KINDS.map((kind): Sample => [{ kind }, (s.problems ?? []).filter((p) => p.kind === kind).length]),
  },
  {
    name: 'bering_sessions',
    help: 'Tunnel sessions that completed their handshake and are not closed.',
    type: 'gauge',
    labelNames: [],
    samples: (s) => [[{}, s.sessions.filter((x) => x.connected).length]],
  },
  {
    name: 'bering_streams',
    help: 'Open streams (TCP connections carried through the tunnel).',
    type: 'gauge',
    labelNames: [],
    samples: (s) => [[{}, s.totals.open]],
  },
  {
    name: 'bering_stream_opens_total',
    help: 'Streams opened since the relay started.',
    type: 'counter',
    labelNames: [],
    samples: (s) => [[{}, s.totals.opened]],
  },
  {
    name: 'bering_tcp_connections_refused_total',
    help: 'Entry relay: viewers\' connections reset because their address held --max-conns-per-ip already.',
    type: 'counter',
    labelNames: [],
    samples: (s) => [[{}, s.totals.connectionsRefusedPerIp]],
  },
  {
    name: 'bering_stream_resets_total',
    help: 'Streams that ended in a reset (by either side, a failed connect or a lost session).',
    type: 'counter',
    labelNames: [],
    samples: (s) => [[{}, s.totals.reset]],
  },
  {
    name: 'bering_tcp_received_bytes_total',
    help: 'Bytes read from TCP connections and handed to the tunnel.',
    type: 'counter',
    labelNames: [],
    samples: (s) => [[{}, s.totals.bytesFromTcp]],
  },
  {
    name: 'bering_tcp_sent_bytes_total',
    help: 'Bytes that came through the tunnel and were written to TCP connections.',
    type: 'counter',
    labelNames: [],
    samples: (s) => [[{}, s.totals.bytesToTcp]],
  },
  {
    name: 'bering_handshakes_total',
    help: 'Tunnel handshakes completed (dialer: sessions brought up; listener: handshakes accepted).',
    type: 'counter',
    labelNames: [],
    samples: (s) => [[{}, s.handshakes]],
  },
  {
    name: 'bering_auth_failures_total',
    help: 'Datagrams that failed authentication or belonged to no session (scanners, other keys); always 0 on a dialing relay.',
    type: 'counter',
    labelNames: [],
    samples: (s) => listenerCounter(s, 'authFailures'),
  },
  {
    name: 'bering_handshake_auth_failures_total',
    help: 'Of the authentication failures, well-formed handshakes whose MAC failed: a relay holding another key, most likely; always 0 on a dialing relay.',
    type: 'counter',
    labelNames: [],
    samples: (s) => listenerCounter(s, 'handshakeAuthFailures'),
  },
  {
    name: 'bering_unknown_session_packets_total',
    help: 'Packets for a session this relay does not know: the other relay still talking to a session of an earlier run of this one (a restart), or junk. Not authentication failures; always 0 on a dialing relay.',
    type: 'counter',
    labelNames: [],
    samples: (s) => listenerCounter(s, 'unknownSessionPackets'),
  },
  {
    name: 'bering_handshake_copies_total',
    help: 'Copies of an accepted handshake arriving on the dialer\'s other paths (it sends one on every path); not replays. Always 0 on a dialing relay.',
    type: 'counter',
    labelNames: [],
    samples: (s) => listenerCounter(s, 'handshakeCopies'),
  },
  {
    name: 'bering_handshake_replays_total',
    help: 'Handshakes refused as replays or with a stale timestamp; always 0 on a dialing relay.',
    type: 'counter',
    labelNames: [],
    samples: (s) => listenerCounter(s, 'replays'),
  },
  {
    name: 'bering_sessions_refused_total',
    help: 'Handshakes refused because the session limit was reached; always 0 on a dialing relay.',
    type: 'counter',
    labelNames: [],
    samples: (s) => listenerCounter(s, 'sessionsRefused'),
  },
  {
    name: 'bering_handshakes_rate_limited_total',
    help: 'Authentic handshakes refused by the handshake rate limit; always 0 on a dialing relay.',
    type: 'counter',
    labelNames: [],
    samples: (s) => listenerCounter(s, 'handshakesRateLimited'),
  },
  {
    name: 'bering_session_uptime_seconds',
    help: 'Time since the session completed its handshake.',
    type: 'gauge',
    labelNames: ['session'],
    samples: (s) => s.sessions.flatMap((x): Sample[] => (x.upSeconds === null ? [] : [[{ session: x.id }, x.upSeconds]])),
  },
  {
    name: 'bering_session_streams',
    help: 'Open streams of the session, as the tunnel core counts them.',
    type: 'gauge',
    labelNames: ['session'],
    samples: (s) => perSession(s, (f) => f.activeStreams),
  },
  {
    name: 'bering_session_fec_repair_ratio',
    help: 'Current forward error correction overhead per lane: repair packets per source packet (m/k); 0 while off.',
    type: 'gauge',
    labelNames: ['session', 'lane'],
    samples: (s) =>
      s.sessions.flatMap((x): Sample[] =>
        x.figures === null
          ? []
          : (['bulk', 'latency'] as const).map((lane): Sample => {
              const shape = x.figures!.fec[lane];
              return [{ session: x.id, lane }, shape === null ? 0 : shape.m / shape.k];
            }),
      ),
  },
  {
    name: 'bering_session_fec_restored_packets_total',
    help: 'Packets the peer sent that were lost and restored by forward error correction here.',
    type: 'counter',
    labelNames: ['session'],
    samples: (s) => perSession(s, (f) => f.fecRestoredPackets),
  },
  {
    name: 'bering_session_fec_failed_groups_total',
    help: 'FEC groups that lost more packets than their repairs could restore (left to retransmission).',
    type: 'counter',
    labelNames: ['session'],
    samples: (s) => perSession(s, (f) => f.fecFailedGroups),
  },
  {
    name: 'bering_session_retransmitted_bytes_total',
    help: 'Stream bytes sent again after a loss.',
    type: 'counter',
    labelNames: ['session'],
    samples: (s) => perSession(s, (f) => f.retransmittedBytes),
  },
  {
    name: 'bering_session_dropped_packets_total',
    help: 'Datagrams the session dropped: failed authentication, replayed, or malformed.',
    type: 'counter',
    labelNames: ['session'],
    samples: (s) => perSession(s, (f) => f.packetsDropped),
  },
  {
    name: 'bering_path_state',
    help: 'Path state: 1 for the current one of up, suspect (being validated) and down.',
    type: 'gauge',
    labelNames: [...PATH_LABELS, 'state'],
    samples: (s) =>
      s.sessions.flatMap((x) =>
        x.paths.flatMap((p) => PATH_STATES.map((state): Sample => [{ ...pathLabels(s, x, p), state }, p.state === state ? 1 : 0])),
      ),
  },
  // No RTT sample yet: no series, rather than the configured initial guess.
  pathGauge('bering_path_rtt_seconds', 'Smoothed round-trip time of the path.', (p) => (p.minRttMs === null ? null : p.srttMs / 1000)),
  pathGauge('bering_path_min_rtt_seconds', 'Lowest round-trip time seen on the path.', (p) => (p.minRttMs === null ? null : p.minRttMs / 1000)),
  // Not exported before the peer's first loss report: until then FEC works with a prior, not a measurement.
  pathGauge(
    'bering_path_loss_ratio',
    'Loss estimate FEC is sized by: raw loss of what this relay sends on the path as the peer measures it (before FEC and retransmission), 0..1, smoothed over ~5,000 packets from a 2% prior; absent until measured.',
    (p) => p.lossRatio,
  ),
  pathGauge('bering_path_loss_burst_packets', 'Mean length of a run of lost packets on the path; absent until measured.', (p) => p.meanLossBurst),
  pathGauge('bering_path_pacing_rate_bytes_per_second', 'Rate the path is paced at now.', (p) => p.pacingRateBytesPerSecond),
  pathGauge('bering_path_cwnd_bytes', 'Congestion window of the path.', (p) => p.cwndBytes),
  pathGauge('bering_path_in_flight_bytes', 'Bytes sent on the path and not yet acknowledged or declared lost.', (p) => p.bytesInFlight),
  pathCounter('bering_path_reported_packets_total', 'Packets sent on the path that the peer\'s loss reports covered (the denominator of the measured raw loss).', (p) => p.reportedPackets),
  pathCounter('bering_path_reported_lost_packets_total', 'Of those, packets the peer reported lost on the wire (raw, before FEC repaired them).', (p) => p.reportedLostPackets),
  pathCounter('bering_path_sent_bytes_total', 'UDP payload bytes sent on the path.', (p) => p.bytesSent),
  pathCounter('bering_path_received_bytes_total', 'UDP payload bytes received on the path (authenticated).', (p) => p.bytesReceived),
  pathCounter('bering_path_sent_packets_total', 'Packets sent on the path.', (p) => p.packetsSent),
  pathCounter('bering_path_received_packets_total', 'Packets received on the path (authenticated).', (p) => p.packetsReceived),
  pathCounter('bering_path_lost_packets_total', 'Packets sent on the path that retransmission declared lost (losses FEC repaired are not among them).', (p) => p.packetsLost),
  pathCounter('bering_path_retransmitted_frames_total', 'Frames of lost packets sent again (on whichever path was best).', (p) => p.retransmittedFrames),
  pathCounter('bering_path_probe_timeouts_total', 'Probe timeouts (RFC 9002 PTO) on the path.', (p) => p.probeTimeouts),
  pathCounter('bering_path_fec_restored_packets_total', 'Packets the peer sent on the path that were lost and restored by FEC here.', (p) => p.fecRestoredPackets),
  pathCounter('bering_path_fec_repair_sent_packets_total', 'FEC repair packets sent on the path.', (p) => p.fecRepairPacketsSent),
];

/** A relay's metrics registry and the one call that renders it. */
export interface RelayMetrics {
  readonly registry: Registry;
  /** Takes one snapshot and renders every metric in the Prometheus text format. */
  scrape(): Promise<string>;
}

/** Builds the registry; `snapshot` is called once per scrape. */
export function createRelayMetrics(snapshot: () => RelayStatus | Promise<RelayStatus>): RelayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let current: RelayStatus | null = null;
  for (const spec of METRICS) {
    const config = { name: spec.name, help: spec.help, labelNames: spec.labelNames, registers: [registry] };
    if (spec.type === 'gauge') {
      new Gauge({
        ...config,
        collect() {
          this.reset();
          if (current !== null) for (const [labels, v] of spec.samples(current)) this.set(labels, v);
        },
      });
    } else {
      new Counter({
        ...config,
        collect() {
          // Absolute values from the snapshot: a counter rebuilt from zero at every scrape.
          this.reset();
          if (current !== null) for (const [labels, v] of spec.samples(current)) this.inc(labels, v);
        },
      });
    }
  }
  return {
    registry,
    async scrape(): Promise<string> {
      // Kept after the scrape: a scrape running concurrently reads a snapshot either way.
      current = await snapshot();
      return registry.metrics();
    },
  };
}
