/**
 * What running a relay process takes beside the relay itself, whether its sessions run on the
 * main thread (relayCommand.ts) or in worker threads (relayShards.ts, relayWorker.ts): the TCP
 * role from the settings, the warm-up, the debug log of path models, and the stop signals.
 */
import type { Logger } from 'pino';
import type { ReedSolomon } from '../fec/index.ts';
import type { Relay, RelaySpec } from '../relay/startRelay.ts';
import { relayStatus } from '../relay/status.ts';
import { WARM_UP_BEFORE_LISTEN_MS, WARM_UP_BYTES, WarmUp, warmUpInBackground } from '../relay/warmUp.ts';
import { warmUpThroughSockets } from '../relay/socketWarmUp.ts';
import type { RelaySettings } from './relayOptions.ts';
import { version } from './version.ts';

/** The relay's TCP role from its settings: entry listeners per service, or exit targets. */
export function tcpRole(settings: RelaySettings): RelaySpec['tcp'] {
  if (settings.role === 'entry') {
    const listen = settings.services.map((s) => ({ service: s.name, listen: s.address }));
    if (settings.tcpListen !== undefined) listen.unshift({ service: '', listen: settings.tcpListen });
    return { listen };
  }
  return { forward: settings.forward ?? null, services: new Map(settings.services.map((s) => [s.name, s.address])) };
}

/** How often, at debug level, each path's congestion-control model is logged. */
const MODEL_LOG_INTERVAL_MS = 1000;

/**
 * One debug line per path of every live session: phase, rates, RTTs, window and the model behind
 * them, so that a rate that fell in the field can be read back from the log.
 */
function logPathModels(relay: Relay, log: Logger): void {
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

/**
 * A second of CPU per start: worth it before the first viewer, not where a script or a test suite
 * starts relays by the dozen. It runs before the ports open, so that whoever can connect meets a
 * compiled data path. Returns the in-memory warm-up that goes on in the background where the
 * budget ran out first (see {@link keepWarming}), or null.
 */
export async function warmUpBeforeListening(fec: ReedSolomon, log: Logger): Promise<WarmUp | null> {
  if (process.env.BERING_WARM_UP === '0') return null;
  const startedAt = performance.now();
  const moved = await warmUpThroughSockets(fec, WARM_UP_BYTES, WARM_UP_BEFORE_LISTEN_MS).catch((err: unknown) => {
    log.debug({ err: String(err) }, 'loopback warm-up failed; warming the session core in memory instead');
    return 0;
  });
  log.debug({ bytes: moved, ms: Math.round(performance.now() - startedAt) }, 'data path warmed up before listening');
  return moved < 2 * WARM_UP_BYTES ? new WarmUp(fec) : null;
}

/** Finishes a warm-up in the background while `relay` carries no stream. */
export function keepWarming(warm: WarmUp | null, relay: Relay, log: Logger): void {
  if (warm === null || warm.done) return;
  const warmStart = performance.now();
  void warmUpInBackground(warm, () => relay.openStreams > 0).then((bytes) =>
    log.debug({ bytes, ms: Math.round(performance.now() - warmStart) }, 'data path warmed up'),
  );
}

/** Logs each path's model once a second at debug level (nothing otherwise); returns the timer to clear. */
export function startModelLog(relay: Relay, log: Logger): NodeJS.Timeout | null {
  const timer = log.isLevelEnabled('debug') ? setInterval(() => logPathModels(relay, log), MODEL_LOG_INTERVAL_MS) : null;
  timer?.unref();
  return timer;
}

/** Resolves with the first SIGTERM or SIGINT. */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise<NodeJS.Signals>((ok) => {
    const on = (s: NodeJS.Signals): void => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      ok(s);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

/** From now until `cancel()`, a second signal means "now": the rest of the drain is skipped. */
export function exitOnSecondSignal(log: Logger): { cancel(): void } {
  const impatient = (): void => {
    log.warn('second signal: exiting without waiting for streams');
    process.exit(1);
  };
  process.once('SIGTERM', impatient);
  process.once('SIGINT', impatient);
  return {
    cancel(): void {
      process.off('SIGTERM', impatient);
      process.off('SIGINT', impatient);
    },
  };
}
