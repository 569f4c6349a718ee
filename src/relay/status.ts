/**
 * A running relay's {@link RelayStatus}: its role, transport, streams and problems gathered into
 * the snapshot `metrics/` defines and serves.
 */
import { formatHostPort } from '../io/address.ts';
import { healthOf, sessionStatus, type RelayStatus } from '../metrics/status.ts';
import type { Relay } from './startRelay.ts';

/** Takes a snapshot of `relay`; `startedAt` is its start in `performance.now()` milliseconds. */
export function relayStatus(relay: Relay, version: string, startedAt: number): RelayStatus {
  const views = relay.transport.sessionViews();
  const sessions = views.map(sessionStatus);
  const counters = relay.transport.counters();
  const udp = relay.udpAddresses.map(formatHostPort);
  const live = relay.streams();
  const totals = relay.totals;
  const problems = relay.diagnostics.list();
  return {
    role: relay.role,
    dials: relay.dials,
    version,
    uptimeSeconds: (performance.now() - startedAt) / 1000,
    health: healthOf(relay.role, relay.dials, sessions, udp, problems),
    problems,
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
      sessionId: views.find((v) => v.session.id === s.sessionId)?.session.tunnelId ?? String(s.sessionId),
      streamId: s.streamId,
      service: s.service,
      tcp: s.tcp,
      bytesFromTcp: s.bytesFromTcp,
      bytesToTcp: s.bytesToTcp,
      ageSeconds: s.ageMs / 1000,
    })),
  };
}
