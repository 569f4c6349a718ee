/**
 * `/status` of a relay with worker threads: one snapshot put together from each worker's, as if
 * one thread ran every session.
 */
import { describe, expect, it } from 'vitest';
import type { Problem } from '../../src/io/diagnosis.ts';
import { emptyListenerStats, type ListenerStats } from '../../src/session/listener.ts';
import { combineShardStatuses, type RelayStatus, type SessionStatus } from '../../src/metrics/status.ts';

function listener(n: number): ListenerStats {
  return { ...emptyListenerStats(), authFailures: n, unknownSessionPackets: n, handshakes: n };
}

function session(id: string, connected: boolean): SessionStatus {
  return { id, localId: 1, connected, upSeconds: connected ? 5 : null, paths: [], figures: null };
}

function problem(kind: Problem['kind'], subject: string, firstAt: number, lastAt: number, message = `${kind} ${subject}`): Problem {
  return { kind, subject, message, firstAt, lastAt, count: 1 };
}

function worker(sessions: SessionStatus[], problems: Problem[], handshakes: number): RelayStatus {
  return {
    role: 'exit',
    dials: false,
    version: '0',
    uptimeSeconds: 1,
    health: { ok: true, reason: '' },
    problems,
    listening: { tcp: [], udp: ['127.0.0.1:1'] },
    handshakes,
    listener: listener(handshakes),
    totals: { open: sessions.length, opened: 3, finished: 2, reset: 1, bytesFromTcp: 100, bytesToTcp: 200, connectionsRefusedPerIp: 0 },
    sessions,
    streams: sessions.map((s, i) => ({ sessionId: s.id, streamId: i, service: '', tcp: 'x', bytesFromTcp: 1, bytesToTcp: 2, ageSeconds: 1 })),
  };
}

const facts = { version: '9.9', uptimeSeconds: 42, udp: ['0.0.0.0:7000', '0.0.0.0:7001'], unroutable: 5, problems: [] };

describe('combineShardStatuses', () => {
  it('adds up sessions, streams and counters, and counts junk the main thread dropped as failed authentication', () => {
    const s = combineShardStatuses(
      new Map([
        [0, worker([session('a', true)], [], 1)],
        [2, worker([session('b', true), session('c', false)], [], 2)],
      ]),
      facts,
    );
    expect(s.sessions.map((x) => `${x.id}@${x.worker}`)).toEqual(['a@0', 'b@2', 'c@2']);
    expect(s.streams).toHaveLength(3);
    expect(s.handshakes).toBe(3);
    expect(s.listener).toMatchObject({ handshakes: 3, unknownSessionPackets: 3, authFailures: 3 + 5 });
    expect(s.totals).toEqual({ open: 3, opened: 6, finished: 4, reset: 2, bytesFromTcp: 200, bytesToTcp: 400, connectionsRefusedPerIp: 0 });
    expect(s).toMatchObject({ version: '9.9', uptimeSeconds: 42, listening: { tcp: [], udp: facts.udp } });
    expect(s.health).toEqual({ ok: true, reason: 'listening on 0.0.0.0:7000, 0.0.0.0:7001; 2 sessions up' });
  });

  it('keeps one problem per kind and subject (the latest report, every count), and judges health on them all', () => {
    const s = combineShardStatuses(
      new Map([
        [0, worker([], [problem('forward-failed', 'forward 10.0.0.5:80', 100, 300, 'late')], 0)],
        [1, worker([], [problem('forward-failed', 'forward 10.0.0.5:80', 50, 200, 'early'), problem('wrong-key', '192.0.2.1', 10, 20)], 0)],
      ]),
      { ...facts, problems: [problem('socket-buffer', 'udp', 1, 1)] },
    );
    expect(s.problems).toHaveLength(3);
    expect(s.problems.find((p) => p.kind === 'forward-failed')).toMatchObject({ message: 'late', firstAt: 50, lastAt: 300, count: 2 });
    expect(s.health.ok).toBe(false);
    expect(s.health.reason).toContain('late');
  });
});
