/** `bering relay`: runs an entry or exit relay until SIGTERM/SIGINT, then drains and exits 0. */
import { formatHostPort } from '../io/address.ts';
import { sessionCore, startRelay } from '../relay/startRelay.ts';
import { createLogger } from './logger.ts';
import { parseRelayArgs, RELAY_USAGE } from './relayOptions.ts';

/** Runs the relay command; resolves with the exit status once the relay has stopped. */
export async function relayCommand(args: string[]): Promise<number> {
  const settings = parseRelayArgs(args);
  if (settings === null) {
    process.stdout.write(`${RELAY_USAGE}\n`);
    return 0;
  }
  const log = createLogger();
  const relay = await startRelay({
    tcp: settings.tcpListen !== undefined ? { listen: settings.tcpListen } : { forward: settings.forward! },
    udp: settings.peers !== undefined ? { peers: settings.peers } : { listen: settings.udpListen! },
    core: sessionCore(settings.psk),
    log,
  });
  log.info(
    settings.tcpListen !== undefined
      ? { role: 'entry', tcp: formatHostPort(relay.tcpAddress!), peers: settings.peers!.map(formatHostPort) }
      : { role: 'exit', udp: relay.udpAddresses.map(formatHostPort), forward: formatHostPort(settings.forward!) },
    'relay running',
  );

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
  log.info({ signal, openStreams: relay.openStreams, drainTimeoutMs: settings.drainTimeoutMs }, 'shutting down');
  const reset = await relay.stop(settings.drainTimeoutMs);
  process.off('SIGTERM', impatient);
  process.off('SIGINT', impatient);
  log.info({ resetStreams: reset, streams: relay.totals }, 'stopped');
  return 0;
}
