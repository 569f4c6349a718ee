/**
 * `/history`: per-path points whose rates come from counter differences between snapshots, and
 * a ring that keeps the last few minutes only.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PATHS_PER_POINT, StatusHistory } from '../../src/metrics/history.ts';
import type { PathStatus, RelayStatus } from '../../src/metrics/status.ts';

function snapshot(path: Partial<PathStatus>): RelayStatus {
  const p: PathStatus = {
    id: 0,
    peer: '203.0.113.7:7000',
    state: 'up',
    srttMs: 180,
    minRttMs: 178,
    lossRatio: null,
    meanLossBurst: null,
    lossMeasuredPackets: 0,
    reportedPackets: 0,
    reportedLostPackets: 0,
    pacingRateBytesPerSecond: 0,
    cwndBytes: 0,
    bytesInFlight: 0,
    ccState: 'probe_bw',
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    packetsLost: 0,
    retransmittedFrames: 0,
    probeTimeouts: 0,
    fecRestoredPackets: 0,
    fecRepairPacketsSent: 0,
    ...path,
  };
  return { sessions: [{ id: 'ab', localId: 1, connected: true, upSeconds: 1, paths: [p], figures: null }] } as unknown as RelayStatus;
}

describe('StatusHistory', () => {
  it('turns counter differences into rates and ratios per path', () => {
    const h = new StatusHistory();
    h.record(snapshot({}), 1000);
    h.record(snapshot({ packetsSent: 1000, bytesSent: 1_250_000, bytesReceived: 250_000, packetsLost: 10, fecRepairPacketsSent: 50, lossRatio: 0.02, reportedPackets: 800, reportedLostPackets: 24 }), 3000);
    const [first, second] = h.list();
    // No interval yet: no rate, and nothing sent, so no ratios.
    expect(first.paths[0]).toMatchObject({ sendBps: 0, lossAfterFec: null, fecOverhead: null, lossRaw: null, rttMs: 180 });
    expect(second).toEqual({
      t: 3000,
      paths: [{ session: 'ab', path: 0, peer: '203.0.113.7:7000', state: 'up', rttMs: 180, lossRaw: 0.03, lossRawPackets: 800, lossAfterFec: 0.01, fecOverhead: 0.05, sendBps: 5e6, recvBps: 1e6 }],
    });
  });

  it('keeps only the newest points', () => {
    const h = new StatusHistory(3);
    for (let t = 0; t < 5; t++) h.record(snapshot({}), t * 1000);
    expect(h.list().map((p) => p.t)).toEqual([2000, 3000, 4000]);
  });

  it('keeps at most MAX_PATHS_PER_POINT paths a point, however many sessions', () => {
    const one = snapshot({});
    const many = { sessions: Array.from({ length: 40 }, (_, i) => ({ ...one.sessions[0], id: `s${i}`, paths: [one.sessions[0].paths[0], { ...one.sessions[0].paths[0], id: 1 }] })) } as RelayStatus;
    const h = new StatusHistory();
    h.record(many, 0);
    expect(h.list()[0].paths).toHaveLength(MAX_PATHS_PER_POINT);
  });
});
