import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/session/api.ts';
import type { SentPacket } from '../../src/session/ack/sentPacket.ts';
import { resolveSessionConfig } from '../../src/session/config.ts';
import { EventQueue } from '../../src/session/events.ts';
import type { Path } from '../../src/session/path.ts';
import { PathManager } from '../../src/session/pathManager.ts';
import { MIGRATION_PROBE_MAX_BYTES } from '../../src/session/pathValidation.ts';
import { Recovery } from '../../src/session/recovery/recovery.ts';

function setUp() {
  const events = new EventQueue();
  const lost: number[] = [];
  const recovery = new Recovery({ framesAcked: () => {}, framesLost: (p) => lost.push(p.pn) }, 5);
  const paths = new PathManager(resolveSessionConfig({}), recovery, events);
  const drain = (): SessionEvent[] => {
    const out: SessionEvent[] = [];
    for (let ev = events.poll(); ev !== null; ev = events.poll()) out.push(ev);
    return out;
  };
  const send = (path: Path, now: number): void => {
    const packet: SentPacket = {
      pn: path.nextPn++,
      timeSent: now,
      size: 1200,
      ackEliciting: true,
      frames: [{ kind: 'maxData' }],
      delivered: 0,
      deliveredTime: 0,
      firstSentTime: 0,
      isAppLimited: false,
      fecGroup: null,
    };
    recovery.onPacketSent(now, path, packet);
  };
  return { paths, drain, lost, send };
}

describe('PathManager', () => {
  it('creates a path on first sight, validating, and puts it up once', () => {
    const { paths, drain } = setUp();
    const p = paths.pathFor(2);
    expect(paths.pathFor(2)).toBe(p);
    expect(paths.get(0)).toBeUndefined();
    expect(p.state).toBe('validating');
    expect(paths.upIds()).toEqual([]);
    expect(paths.markUp(p, 10)).toBe(true);
    expect(paths.markUp(p, 20)).toBe(false);
    expect(paths.upIds()).toEqual([2]);
    expect(drain()).toEqual([{ type: 'pathUp', pathId: 2 }]);
  });

  it('a PATH_RESPONSE puts the path up only when it echoes our challenge', () => {
    const { paths } = setUp();
    const p = paths.pathFor(0);
    // The echo of an earlier challenge counts too: a re-sent one may leave before it is back.
    p.challenges.push(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1));
    p.challengeDueAt = 500;
    expect(paths.onResponse(p, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 9), 100)).toBe(false);
    expect(p.state).toBe('validating');
    expect(paths.onResponse(p, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 100)).toBe(true);
    expect(p.state).toBe('up');
    expect(p.challenges).toHaveLength(0);
    expect(p.challengeDueAt).toBe(Infinity);
  });

  it('proving a path\'s first address brings it up without calling it a move; a later proven address is a move', () => {
    const { paths, drain } = setUp();
    const p = paths.pathFor(1);
    const challenge = (now: number, data: Uint8Array): void => {
      p.migration.handleTimeout(now);
      expect(p.migration.probing).toBe(true);
      p.migration.onChallengeSent(now, data, MIGRATION_PROBE_MAX_BYTES, 300);
    };
    // A path's first packet from an address the handshake did not come from: probed first.
    p.migration.onAuthentic(0, { address: '198.51.100.7', port: 50_000 }, 0, true, 100, false);
    challenge(1000, Uint8Array.of(1, 1, 1, 1, 1, 1, 1, 1));
    expect(paths.onResponse(p, Uint8Array.of(1, 1, 1, 1, 1, 1, 1, 1), 1100)).toBe(true);
    expect(drain()).toEqual([{ type: 'pathUp', pathId: 1 }]);
    // The peer's NAT gives it another port, which answers the next challenge: that is a move.
    p.migration.onAuthentic(2000, { address: '198.51.100.7', port: 50_001 }, 0, true, 100, true);
    challenge(2000, Uint8Array.of(2, 2, 2, 2, 2, 2, 2, 2));
    paths.onResponse(p, Uint8Array.of(2, 2, 2, 2, 2, 2, 2, 2), 2100);
    expect(drain()).toEqual([{ type: 'pathMoved', pathId: 1 }]);
  });

  it('echoes a PATH_CHALLENGE from a copy, since the frame is a view of the packet', () => {
    const { paths } = setUp();
    const p = paths.pathFor(0);
    const data = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9);
    paths.onChallenge(p, data);
    data.fill(0);
    expect([...p.responsePending!]).toEqual([9, 9, 9, 9, 9, 9, 9, 9]);
  });

  it('fails a silent path over while another is up: its packets are lost at once and it is challenged', () => {
    const { paths, drain, lost, send } = setUp();
    const a = paths.pathFor(0);
    const b = paths.pathFor(1);
    paths.markUp(a, 0);
    paths.markUp(b, 0);
    drain();
    send(a, 0);
    send(a, 1);
    paths.armTimers(false, 0);
    const silentAt = a.silenceDeadline();
    expect(silentAt).toBeLessThan(Infinity);
    paths.handleTimeout(silentAt - 0.001);
    expect(a.state).toBe('up');
    paths.handleTimeout(silentAt);
    expect(a.state).toBe('down');
    // The probe timeout re-sent packet 0 before the path went silent; failing over loses both.
    expect(lost).toEqual([0, 0, 1]);
    expect(a.bytesInFlight).toBe(0);
    expect(a.challengeDueAt).toBe(silentAt);
    expect(drain()).toEqual([{ type: 'pathDown', pathId: 0, reason: 'silent: nothing received or acknowledged after a probe timeout' }]);
    expect(paths.upIds()).toEqual([1]);
  });

  it('never fails over the last path up: its probe timeout re-sends, then it pings until heard', () => {
    const { paths, lost, send } = setUp();
    const a = paths.pathFor(0);
    paths.markUp(a, 0);
    send(a, 0);
    paths.handleTimeout(10_000);
    expect(a.state).toBe('up');
    expect(lost).toEqual([0]);
    expect(a.probesPending).toBe(2);
    expect(a.unansweredPtos).toBe(1);
    paths.handleTimeout(a.ptoDeadline());
    expect(a.state).toBe('up');
    expect(a.silencePingDue).toBe(true);
    expect(lost).toEqual([0]);
  });

  it('a path failing over stops owing probes and pings', () => {
    const { paths } = setUp();
    const a = paths.pathFor(0);
    paths.markUp(a, 0);
    a.probesPending = 2;
    a.silencePingDue = true;
    paths.markDown(a, 10, 'test');
    expect(a.probesPending).toBe(0);
    expect(a.silencePingDue).toBe(false);
  });

  it('a path back after a long blackout learns afresh; after a blip it keeps its model', () => {
    const { paths } = setUp();
    const blip = paths.pathFor(0);
    const long = paths.pathFor(1);
    for (const p of [blip, long]) {
      paths.markUp(p, 0);
      p.unansweredPtos = 3;
      paths.markDown(p, 100, 'test');
    }
    paths.markUp(blip, 600);
    paths.markUp(long, 1100);
    expect(blip.unansweredPtos).toBe(3);
    expect(long.unansweredPtos).toBe(0);
  });

  it('wakes at the earliest path timer, and at the pacer release only when a path has something to send', () => {
    const { paths, send } = setUp();
    const a = paths.pathFor(0);
    paths.markUp(a, 0);
    a.lossReportDueAt = 700;
    paths.armTimers(false, 0);
    expect(paths.sendableAt()).toBeLessThan(Infinity);
    // Released no later than a poll at that time: the scheduler had its chance.
    expect(paths.sendableAt(a.pacer.releaseTime())).toBe(Infinity);
    expect(paths.nextTimeout()).toBe(700);
    send(a, 0);
    paths.armTimers(false, 0);
    expect(paths.nextTimeout()).toBe(Math.min(a.ptoDeadline(), 700));
    a.probesPending = 1;
    paths.armTimers(false, 0);
    expect(paths.nextTimeout()).toBe(a.pacer.releaseTime());
    paths.stopTimers();
    expect(paths.nextTimeout()).toBe(Infinity);
  });

  it('picks the up path of lowest smoothed RTT as the fastest', () => {
    const { paths } = setUp();
    const slow = paths.pathFor(0);
    const fast = paths.pathFor(1);
    const down = paths.pathFor(2);
    slow.rtt.update(180, 0);
    fast.rtt.update(40, 0);
    down.rtt.update(5, 0);
    paths.markUp(slow, 0);
    expect(paths.fastestUp()).toBe(slow);
    paths.markUp(fast, 0);
    expect(paths.fastestUp()).toBe(fast);
  });

  it('counts a late original of a packet FEC restored as arrived once, and a replay not at all', () => {
    const { paths } = setUp();
    const p = paths.pathFor(0);
    expect(paths.onAuthentic(10, p, 5, 1000, false, undefined, 0)).toBe(true);
    expect(p.counters.packetsReceived).toBe(1);
    expect(p.lossReportDueAt).toBe(210);
    expect(p.lastReceivedAt).toBe(10);
    expect(paths.onAuthentic(11, p, 5, 1000, false, undefined, 0)).toBe(false);
    expect(p.counters.packetsReceived).toBe(1);
    expect(paths.onAuthentic(12, p, 7, 1000, true, undefined, 0)).toBe(true);
    expect(p.counters).toMatchObject({ packetsReceived: 1, fecRestored: 1 });
    expect(paths.onAuthentic(13, p, 7, 1000, false, undefined, 0)).toBe(false);
    expect(p.counters.packetsReceived).toBe(2);
    expect(paths.onAuthentic(14, p, 7, 1000, false, undefined, 0)).toBe(false);
    expect(p.counters.packetsReceived).toBe(2);
  });
});
