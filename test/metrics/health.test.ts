/**
 * `/healthz` judged by the relay's role, not by who dials: an entry relay needs a tunnel even when
 * it is the side that listens; an exit relay needs its service; and a 503 says why. Also the
 * socket buffer check that tells the operator which sysctl to raise.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Diagnostics, type Problem } from '../../src/io/diagnosis.ts';
import { checkSocketBuffers, probeSocketBuffers } from '../../src/io/socketBuffers.ts';
import { SOCKET_BUFFER_BYTES } from '../../src/io/udpSocket.ts';
import { healthOf, type SessionStatus } from '../../src/metrics/status.ts';

const up: SessionStatus = { id: '0000000100000002', localId: 1, connected: true, upSeconds: 5, paths: [], figures: null };
const problem = (kind: Problem['kind'], message: string): Problem => ({ kind, subject: 's', message, firstAt: 0, lastAt: 0, count: 1 });

describe('healthOf', () => {
  it('an entry relay that listens (reverse dial) is unhealthy without a tunnel', () => {
    expect(healthOf('entry', false, [], ['0.0.0.0:7000'], [])).toEqual({ ok: false, reason: 'no tunnel session: waiting for the other relay to dial in' });
    expect(healthOf('entry', false, [up], ['0.0.0.0:7000'], [])).toMatchObject({ ok: true });
  });

  it('an exit relay that listens is healthy without a session, unless its service refuses', () => {
    expect(healthOf('exit', false, [], ['0.0.0.0:7000'], [])).toEqual({ ok: true, reason: 'listening on 0.0.0.0:7000; 0 sessions up' });
    const refused = problem('forward-failed', 'forward 10.0.0.5:32400: connection refused (ECONNREFUSED)');
    expect(healthOf('exit', false, [up], ['0.0.0.0:7000'], [refused])).toEqual({
      ok: false,
      reason: 'forward 10.0.0.5:32400: connection refused (ECONNREFUSED): new streams fail',
    });
  });

  it('an exit relay that dials needs its tunnel too', () => {
    expect(healthOf('exit', true, [], [], [])).toMatchObject({ ok: false, reason: 'no tunnel session: waiting to redial' });
  });

  it("a dialer's 503 carries what the diagnosis found", () => {
    const silent = problem('peer-unreachable', 'no answer to the handshake from 203.0.113.7:7000 for 4 s: ...');
    expect(healthOf('entry', true, [{ ...up, connected: false }], [], [silent]).reason).toBe(`no tunnel session: handshaking; ${silent.message}`);
  });
});

describe('checkSocketBuffers', () => {
  const run = (recv: number, send: number) => {
    const diagnostics = new Diagnostics(pino({ level: 'silent' }));
    checkSocketBuffers({ getRecvBufferSize: () => recv, getSendBufferSize: () => send }, diagnostics, 4 << 20);
    return diagnostics.list();
  };

  it('says nothing when the kernel granted the request (Linux reports twice the size)', () => {
    expect(run(8 << 20, 8 << 20)).toEqual([]);
  });

  it('names the cap and the sysctl that lifts it', () => {
    // Debian's default net.core.rmem_max of 212992 bytes, reported doubled.
    const [p] = run(425_984, 8 << 20);
    expect(p.kind).toBe('socket-buffer');
    expect(p.message).toBe(
      'the kernel capped UDP socket buffers at 208.0 KiB (asked for 4.0 MiB): at high rates datagrams may be dropped; raise the cap with sysctl -w net.core.rmem_max=4194304 net.core.wmem_max=4194304',
    );
  });

  it.runIf(process.platform === 'linux')('probes this machine: advice exactly when its caps are below the request', async () => {
    const cap = (name: string) => Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8'));
    const capped = cap('rmem_max') < SOCKET_BUFFER_BYTES || cap('wmem_max') < SOCKET_BUFFER_BYTES;
    const diagnostics = new Diagnostics(pino({ level: 'silent' }));
    await probeSocketBuffers(diagnostics);
    expect(diagnostics.list().map((p) => p.kind)).toEqual(capped ? ['socket-buffer'] : []);
  });
});
