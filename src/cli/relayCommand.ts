/** `bering relay`: runs an entry or exit relay until SIGTERM/SIGINT, then drains and exits 0. */
import { formatHostPort } from '../io/address.ts';
import { probeSocketBuffers } from '../io/socketBuffers.ts';
import { formatPeer } from '../io/peerDialer.ts';
import { startMetricsServer, type MetricsServer } from '../metrics/server.ts';
import { relayStatus } from '../relay/status.ts';
import { loadFec } from '../fec/index.ts';
import { sessionCore, startRelay, type RelaySpec } from '../relay/startRelay.ts';
import { WARM_UP_BEFORE_LISTEN_MS, WARM_UP_BYTES, WarmUp, warmUpInBackground } from '../relay/warmUp.ts';
import { warmUpThroughSockets } from '../relay/socketWarmUp.ts';
import { keyFileExposure } from './key.ts';
import { CliError } from './errors.ts';
import { StreamTraceFile } from '../io/streamTrace.ts';
import { createLogger } from './logger.ts';
import { parseRelayArgs, RELAY_USAGE, type RelaySettings } from './relayOptions.ts';
import { version } from './version.ts';

/** The relay's TCP role from its settings: entry listeners per service, or exit targets. */
function tcpRole(settings: RelaySettings): RelaySpec['tcp'] {
  if (settings.role === 'entry') {
    const listen = settings.services.map((s) => ({ service: s.name, listen: s.address }));
    if (settings.tcpListen !== undefined) listen.unshift({ service: '', listen: settings.tcpListen });
    return { listen };
  }
  return { forward: settings.forward ?? null, services: new Map(settings.services.map((s) => [s.name, s.address])) };
}

/** `BERING_STREAM_TRACE=FILE`: where to trace stream bytes through the relay (see streamTrace.ts), or null. */
function openStreamTrace(): StreamTraceFile | null {
  const path = process.env.BERING_STREAM_TRACE;
  if (path === undefined || path === '') return null;
  try {
    return new StreamTraceFile(path);
  } catch (err) {
    throw new CliError(`BERING_STREAM_TRACE: cannot write ${path}: ${(err as Error).message}`);
  }
}

/** How often, at debug level, each path's congestion-control model is logged. */
const MODEL_LOG_INTERVAL_MS = 1000;

/**
 * One debug line per path of every live session: phase, rates, RTTs, window and the model behind
 * them, so that a rate that fell in the field can be read back from the log.
 */
function logPathModels(relay: Parameters<typeof relayStatus>[0], log: ReturnType<typeof createLogger>): void {
  for (const session of relayStatus(relay, version(), 0).sessions) {
    for (const p of session.paths) {
      log.debug(
        {
          sessionId: session.id,
          pathId: p.id,
          ccState: p.ccState,
          pacingMbps: Math.round((p.pacingRateBytesPerSecond * 8) / 1e4) / 100,
          srttMs: Math.round(p.srttMs * 100) / 100,
          minRttMs: p.minRttMs,
          cwndBytes: Math.round(p.cwndBytes),
          bytesInFlight: p.bytesInFlight,
          ...p.cc,
        },
        'path model',
      );
    }
  }
}

/** Runs the relay command; resolves with the exit status once the relay has stopped. */
export async function relayCommand(args: string[]): Promise<number> {
  const settings = parseRelayArgs(args);
  if (settings === null) {
    process.stdout.write(`${RELAY_USAGE}\n`);
    return 0;
  }
  const log = createLogger();
  // One engine for the sessions and the warm-up: compiling the wasm twice would only cost start-up.
  const fec = loadFec();
  const exposure = keyFileExposure(settings.keyFile);
  if (exposure !== null) log.warn(exposure);
  const trace = openStreamTrace();
  const startedAt = performance.now();
  // A second of CPU per start: worth it before the first viewer, not where a script or a test
  // suite starts relays by the dozen. It runs before the ports open, so that whoever can connect
  // meets a compiled data path; if the budget runs out first, the session core goes on warming in
  // memory in the background.
  let warm: WarmUp | null = null;
  if (process.env.BERING_WARM_UP !== '0') {
    const moved = await warmUpThroughSockets(fec, WARM_UP_BYTES, WARM_UP_BEFORE_LISTEN_MS).catch((err: unknown) => {
      log.debug({ err: String(err) }, 'loopback warm-up failed; warming the session core in memory instead');
      return 0;
    });
    log.debug({ bytes: moved, ms: Math.round(performance.now() - startedAt) }, 'data path warmed up before listening');
    if (moved < 2 * WARM_UP_BYTES) warm = new WarmUp(fec);
  }
  const relay = await startRelay({
    tcp: tcpRole(settings),
    udp: settings.peers !== undefined ? { peers: settings.peers } : { listen: settings.udpListen! },
    webrtc: { psk: settings.psk, stunServers: settings.stunServers, listen: settings.webrtcListen },
    core: sessionCore(settings.psk, settings.session, settings.listener, fec, trace ?? undefined),
    maxStreams: settings.maxStreams,
    maxConnsPerIp: settings.maxConnsPerIp,
    log,
  });
  let metrics: MetricsServer | null = null;
  if (settings.metrics !== undefined) {
    try {
      metrics = await startMetricsServer({ listen: settings.metrics, status: () => relayStatus(relay, version(), startedAt), log });
    } catch (err) {
      await relay.stop(0);
      trace?.close();
      throw err;
    }
    log.info({ metrics: formatHostPort(metrics.address), dashboard: `http://${formatHostPort(metrics.address)}/` }, 'serving metrics');
  }
  const services = settings.services.map((s) => `${s.name}=${formatHostPort(s.address)}`);
  log.info(
    {
      role: relay.role,
      ...(relay.role === 'entry'
        ? { tcp: relay.tcpServices.map((s) => `${s.service === '' ? '' : `${s.service}=`}${formatHostPort(s.listen)}`) }
        : { forward: settings.forward === undefined ? null : formatHostPort(settings.forward), services }),
      ...(settings.peers !== undefined
        ? { peers: settings.peers.map(formatPeer) }
        : { udp: relay.udpAddresses.map(formatHostPort), webrtc: relay.webrtcAddress === null ? null : formatHostPort(relay.webrtcAddress) }),
    },
    'relay running',
  );
  // After the start line, so that a capped buffer's advice is the next thing the operator reads.
  await probeSocketBuffers(relay.diagnostics);
  if (warm !== null && !warm.done) {
    const warmStart = performance.now();
    void warmUpInBackground(warm, () => relay.openStreams > 0).then((bytes) =>
      log.debug({ bytes, ms: Math.round(performance.now() - warmStart) }, 'data path warmed up'),
    );
  }
  const modelLog = log.isLevelEnabled('debug') ? setInterval(() => logPathModels(relay, log), MODEL_LOG_INTERVAL_MS) : null;
  modelLog?.unref();

  const signal = await new Promise<NodeJS.Signals>((ok) => {
    const on = (s: NodeJS.Signals): void => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      ok(s);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
  // A second signal means "now": skip the rest of the drain.
  const impatient = (): void => {
    log.warn('second signal: exiting without waiting for streams');
    process.exit(1);
  };
  process.once('SIGTERM', impatient);
  process.once('SIGINT', impatient);
  if (modelLog !== null) clearInterval(modelLog);
  // What the trace holds so far is written before the drain, which a supervisor may cut short.
  trace?.flush();
  log.info({ signal, openStreams: relay.openStreams, drainTimeoutMs: settings.drainTimeoutMs }, 'shutting down');
  const reset = await relay.stop(settings.drainTimeoutMs);
  await metrics?.close();
  process.off('SIGTERM', impatient);
  process.off('SIGINT', impatient);
  trace?.close();
  log.info({ resetStreams: reset, streams: relay.totals }, 'stopped');
  return 0;
}
