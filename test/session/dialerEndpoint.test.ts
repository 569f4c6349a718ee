import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/base/rng.ts';
import type { Millis } from '../../src/base/time.ts';
import type { SessionEvent } from '../../src/session/api.ts';
import { DialerEndpoint, type EndpointEvent } from '../../src/session/dialerEndpoint.ts';
import { Listener } from '../../src/session/listener.ts';
import { Session } from '../../src/session/session.ts';
import { SimNetwork, symmetric, type SimNode } from '../../src/sim/network.ts';
import { ListenerSide, WALL_EPOCH } from '../support/simNodes.ts';
import { TEST_PSK } from '../support/tunnelPair.ts';

const PATHS = [symmetric({ delayMs: 30 }), symmetric({ delayMs: 45 })];

/** The dialing relay as a simulator node: the endpoint and every session it hands out, driven the way io/peerDialer.ts drives them. */
class EndpointSide implements SimNode {
  readonly endpoint: DialerEndpoint<Session>;
  /** What the endpoint did, with when. */
  readonly did: Array<{ at: Millis; e: EndpointEvent<Session> }> = [];
  /** Session events the application was shown. */
  readonly shown: Array<{ session: Session; e: SessionEvent }> = [];

  constructor(seed: number) {
    const rng = new SeededRng(seed);
    this.endpoint = new DialerEndpoint<Session>({
      dial: (now, wallNow, pathIds, overrides) => Session.dial({ now, wallNow, psk: TEST_PSK, pathIds, rng, config: overrides }),
    });
    this.endpoint.dial(0, WALL_EPOCH, [0, 1], [0, 1]);
  }

  handleDatagram(now: Millis, pathId: number, bytes: Uint8Array): void {
    this.endpoint.handleDatagram(now, pathId, bytes);
    this.pump(now);
  }

  pollTransmit(now: Millis): { pathId: number; bytes: Uint8Array } | null {
    for (const s of this.endpoint.sessions()) {
      const t = s.pollTransmit(now);
      if (t !== null) return t;
    }
    this.pump(now);
    return null;
  }

  nextTimeout(): Millis | null {
    const times = [this.endpoint.nextTimeout(), ...this.endpoint.sessions().map((s) => s.nextTimeout())].filter((t): t is Millis => t !== null);
    return times.length === 0 ? null : Math.min(...times);
  }

  handleTimeout(now: Millis): void {
    for (const s of this.endpoint.sessions()) if ((s.nextTimeout() ?? Infinity) <= now) s.handleTimeout(now);
    if ((this.endpoint.nextTimeout() ?? Infinity) <= now) this.endpoint.handleTimeout(now, WALL_EPOCH + now);
    this.pump(now);
  }

  kinds(): string[] {
    return this.did.map((d) => d.e.type);
  }

  private pump(now: Millis): void {
    let again = true;
    while (again) {
      again = false;
      for (const s of this.endpoint.sessions()) {
        for (let e = s.pollEvent(); e !== null; e = s.pollEvent()) {
          again = true;
          if (this.endpoint.handleEvent(now, s, e)) this.shown.push({ session: s, e });
        }
      }
      for (let e = this.endpoint.pollEvent(); e !== null; e = this.endpoint.pollEvent()) this.did.push({ at: now, e });
    }
  }
}

/**
 * The listening relay's process: restarted, it has forgotten every session; down, each datagram
 * sent to it is refused by its host (ICMP port unreachable), which the dialer hears at once.
 */
class ListenerProcess implements SimNode {
  private side: ListenerSide;
  private runs = 0;
  down = false;

  constructor(
    private readonly seed: number,
    private readonly refused: (now: Millis, pathId: number) => void,
  ) {
    this.side = this.start();
  }

  restart(): void {
    this.side = this.start();
  }

  handleDatagram(now: Millis, pathId: number, bytes: Uint8Array): void {
    if (this.down) this.refused(now, pathId);
    else this.side.handleDatagram(now, pathId, bytes);
  }

  pollTransmit(now: Millis): { pathId: number; bytes: Uint8Array } | null {
    return this.down ? null : this.side.pollTransmit(now);
  }

  nextTimeout(): Millis | null {
    return this.down ? null : this.side.nextTimeout();
  }

  handleTimeout(now: Millis): void {
    if (!this.down) this.side.handleTimeout(now);
  }

  private start(): ListenerSide {
    return new ListenerSide(new Listener({ psk: TEST_PSK, rng: new SeededRng(this.seed + this.runs++) }));
  }
}

function pair(seed: number) {
  const dialer = new EndpointSide(seed);
  const listener = new ListenerProcess(seed ^ 0x5555, (now, pathId) => dialer.endpoint.pathRefused(now, pathId));
  const net = new SimNetwork({ a: dialer, b: listener, paths: PATHS, seed });
  net.runUntil(1000);
  const first = dialer.endpoint.session!;
  expect(first.isConnected).toBe(true);
  return { dialer, listener, net, first };
}

function blackout(net: SimNetwork, fromMs: Millis, toMs: Millis): void {
  for (const link of net.links) for (const l of [link.aToB, link.bToA]) l.setConfig({ blackouts: [{ fromMs, toMs }] });
}

/** The check began 1.5 s into the silence, which began at the latest when the peer went dark at 2 s. */
function expectCheckOnTime(started: { at: Millis; e: EndpointEvent<Session> }): void {
  if (started.e.type !== 'checkStarted') throw new Error(`not a check: ${started.e.type}`);
  expect(started.e.silentMs).toBeGreaterThanOrEqual(1500);
  expect(started.e.silentMs).toBeLessThan(1501);
  expect(started.at).toBeLessThan(2000 + 45 + 1500);
}

describe('DialerEndpoint: is the peer dark, or did it restart?', () => {
  it('asks to be woken once the session has been silent for 1.5 s, and not before', () => {
    const { dialer, net } = pair(1);
    const wake = dialer.endpoint.nextTimeout()!;
    expect(wake).toBeGreaterThan(net.now);
    expect(wake).toBeLessThanOrEqual(net.now + 1500);
  });

  it('does not even check for a dark second', () => {
    const { dialer, net, first } = pair(2);
    blackout(net, 2000, 3000);
    net.runUntil(8000);
    expect(dialer.kinds()).toEqual([]);
    expect(dialer.endpoint.session).toBe(first);
  });

  it('keeps the session through a 3 s blackout: checks, then drops the check once the old session hears the peer', () => {
    const { dialer, net, first } = pair(3);
    blackout(net, 2000, 5000);
    net.runUntil(12_000);
    expect(dialer.kinds()).toEqual(['checkStarted', 'checkEnded']);
    const started = dialer.did[0];
    expectCheckOnTime(started);
    expect(dialer.did[1].at).toBeGreaterThanOrEqual(5000);
    expect(dialer.endpoint.session).toBe(first);
    expect(first.isConnected).toBe(true);
    // The check was never the application's business, and it is gone.
    const check = started.e.type === 'checkStarted' ? started.e.check : null;
    expect(dialer.shown.some((s) => s.session === check)).toBe(false);
    expect(dialer.endpoint.sessions()).toEqual([first]);
  });

  it('replaces the session of a peer that restarted, once the old session stayed silent past the grace', () => {
    const { dialer, listener, net, first } = pair(4);
    net.at(2000, () => listener.restart());
    net.runUntil(10_000);
    expect(dialer.kinds()).toEqual(['checkStarted', 'replaced']);
    const [started, replaced] = dialer.did;
    expectCheckOnTime(started);
    if (replaced.e.type !== 'replaced') throw new Error('not a replacement');
    // The check connects within a round trip; then 600 ms and three minimum RTTs of grace.
    expect(replaced.at - replaced.e.connectedAt).toBeGreaterThanOrEqual(600);
    expect(replaced.at - replaced.e.connectedAt).toBeLessThan(1000);
    expect(replaced.e.old).toBe(first);
    const now = dialer.endpoint.session!;
    expect(now).not.toBe(first);
    expect(now.isConnected).toBe(true);
    // The old session is closed, and the application saw it close (its streams are reset).
    expect(first.isClosed).toBe(true);
    expect(dialer.shown.filter((s) => s.session === first).map((s) => s.e.type)).toContain('closed');
    expect(dialer.endpoint.sessions()).toEqual([now]);
  });

  it('replaces at once when the peer\'s host refused every path since the session last heard it', () => {
    const { dialer, listener, net } = pair(5);
    net.at(2000, () => {
      listener.down = true;
    });
    net.at(6000, () => {
      listener.restart();
      listener.down = false;
    });
    net.runUntil(10_000);
    expect(dialer.kinds()).toEqual(['checkStarted', 'replaced']);
    const replaced = dialer.did[1];
    if (replaced.e.type !== 'replaced') throw new Error('not a replacement');
    expect(replaced.at).toBe(replaced.e.connectedAt);
    expect(replaced.at).toBeLessThan(6300);
  });

  it('a refusal on only one path is no proof: the grace still applies', () => {
    const { dialer, listener, net } = pair(6);
    net.at(2000, () => listener.restart());
    net.at(3000, (now) => dialer.endpoint.pathRefused(now, 0));
    net.runUntil(10_000);
    const replaced = dialer.did.find((d) => d.e.type === 'replaced')!;
    if (replaced.e.type !== 'replaced') throw new Error('not a replacement');
    expect(replaced.at - replaced.e.connectedAt).toBeGreaterThanOrEqual(600);
  });
});
