/**
 * A session's /status figures come from its core: here the key updates, which nothing else shows
 * an operator (bench/rekeyStream.ts reads them from real relays).
 */
import { describe, expect, it } from 'vitest';
import { sessionStatus } from '../../src/metrics/status.ts';
import { symmetric } from '../../src/sim/network.ts';
import { simPair } from '../security/simPair.ts';

describe('session status', () => {
  it('counts the key updates each way', () => {
    // Updates every 30 s (the minimum gap): two each way by 65 s.
    const { net, dialer, listenerSide } = simPair({
      psk: new Uint8Array(32).fill(7),
      seed: 14,
      paths: [symmetric({ delayMs: 20, rateMbps: 10 })],
      config: { keyUpdateIntervalMs: 30_000 },
      fec: false,
    });
    const view = (session: typeof dialer) => sessionStatus({ session, connectedForMs: net.now, pathPeer: () => '#0' });
    net.runUntil(1000);
    expect(view(dialer).figures?.keyUpdates).toEqual({ sent: 0, received: 0 });
    net.runUntil(65_000);
    expect(view(dialer).figures?.keyUpdates).toEqual({ sent: 2, received: 2 });
    expect(view(listenerSide.sessions[0]).figures?.keyUpdates).toEqual({ sent: 2, received: 2 });
  });
});
