/**
 * Plain kernel TCP over the same emulated link, on a {@link NamespaceLink} (src/io): two network
 * namespaces whose TUN devices socat bridges to a LinkBridge applying the scenario's link model.
 *
 *   viewer (bns_a, 198.18.0.1) - btunA = socat = UDP - LinkBridge - UDP = socat = btunB - service (bns_b, 198.18.0.2)
 *
 * The bench's workload endpoints run inside the namespaces; socat starts through `spawnChild`
 * (src/lab/children.ts), so a bench interrupted by a signal kills it with every other child.
 */
import { establishedCongestionControl, kernelTcpUnavailable, NamespaceLink, ADDR_B, TCP_SYSCTLS } from '../src/lab/namespaceLink.ts';
import { pathSeed } from './beringHarness.ts';
import { EndpointProcess } from './endpointProcess.ts';
import type { Harness } from './harness.ts';
import type { PathSpec } from './scenarios.ts';

export { kernelTcpUnavailable, TCP_SYSCTLS };

const NS_A = 'bns_a';
const NS_B = 'bns_b';
const SERVICE_PORT = 5001;

/** Starts the two namespaces over `path` with congestion control `cc`. */
export async function startKernelTcp(opts: { path: PathSpec; seed: number; cc: string }): Promise<Harness> {
  const link = await NamespaceLink.start({
    names: { nsA: NS_A, nsB: NS_B, tunA: 'btunA', tunB: 'btunB' },
    aToB: opts.path.aToB,
    bToA: opts.path.bToA,
    seed: pathSeed(opts.seed, 0),
    cc: opts.cc,
  });
  const started: EndpointProcess[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(started.map((s) => s.close()));
    await link.close();
  };
  try {
    const [serviceStart, viewerStart] = await Promise.allSettled([
      EndpointProcess.start({ listen: `${ADDR_B}:${SERVICE_PORT}`, netns: NS_B }),
      EndpointProcess.start({ netns: NS_A }),
    ]);
    for (const s of [serviceStart, viewerStart]) if (s.status === 'fulfilled') started.push(s.value.endpoint);
    if (serviceStart.status === 'rejected') throw serviceStart.reason;
    if (viewerStart.status === 'rejected') throw viewerStart.reason;
    const [service, viewer] = [serviceStart.value.endpoint, viewerStart.value.endpoint];
    return {
      target: { host: ADDR_B, port: SERVICE_PORT },
      viewer,
      service,
      relays: null,
      paths: [link.bridge],
      deaths: () => link.deaths(),
      emulatorPids: () => link.helperPids,
      deviceDrops: () => link.deviceDrops(),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * The congestion control of the established TCP sockets in the namespace of the sender of
 * `direction` ('down': the service's), read from `ss -ti`: proof of what ran. Null if none found.
 */
export function senderCongestionControl(direction: 'down' | 'up'): Promise<string | null> {
  return establishedCongestionControl(direction === 'down' ? NS_B : NS_A);
}
