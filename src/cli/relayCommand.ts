/** `bering relay`: runs an entry or exit relay until SIGTERM/SIGINT, then drains and exits 0. */
import { formatHostPort } from '../io/address.ts';
import { probeSocketBuffers } from '../io/socketBuffers.ts';
import { formatPeer } from '../io/peerDialer.ts';
import { startMetricsServer, type MetricsServer } from '../metrics/server.ts';
import { relayStatus } from '../relay/status.ts';
import { loadFec } from '../fec/index.ts';
import { sessionCore, startRelay } from '../relay/startRelay.ts';
import { StreamTraceFile } from '../io/streamTrace.ts';
import { keyFileExposure } from './key.ts';
import { CliError } from './errors.ts';
import { createLogger } from './logger.ts';
import { parseRelayArgs, RELAY_USAGE } from './relayOptions.ts';
import { exitOnSecondSignal, keepWarming, startModelLog, stopSignal, tcpRole, warmUpBeforeListening } from './relayRuntime.ts';
import { runShards } from './relayShards.ts';
import { version } from './version.ts';

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

/** Runs the relay command; resolves with the exit status once the relay has stopped. */
export async function relayCommand(args: string[]): Promise<number> {
  const settings = parseRelayArgs(args);
  if (settings === null) {
    process.stdout.write(`${RELAY_USAGE}\n`);
    return 0;
  }
  const log = createLogger();
  const exposure = keyFileExposure(settings.keyFile);
  if (exposure !== null) log.warn(exposure);
  if (settings.workers > 0) return runShards(args, settings, log);
  // One engine for the sessions and the warm-up: compiling the wasm twice would only cost start-up.
  const fec = loadFec();
  const trace = openStreamTrace();
  const startedAt = performance.now();
  const warm = await warmUpBeforeListening(fec, log);
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
  keepWarming(warm, relay, log);
  const modelLog = startModelLog(relay, log);

  const signal = await stopSignal();
  const impatient = exitOnSecondSignal(log);
  if (modelLog !== null) clearInterval(modelLog);
  // What the trace holds so far is written before the drain, which a supervisor may cut short.
  trace?.flush();
  log.info({ signal, openStreams: relay.openStreams, drainTimeoutMs: settings.drainTimeoutMs }, 'shutting down');
  const reset = await relay.stop(settings.drainTimeoutMs);
  await metrics?.close();
  impatient.cancel();
  trace?.close();
  log.info({ resetStreams: reset, streams: relay.totals }, 'stopped');
  return 0;
}
