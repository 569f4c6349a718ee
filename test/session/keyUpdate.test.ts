import { describe, expect, it } from 'vitest';
import { transPacific } from '../../src/sim/network.ts';
import { percentile, runCbr } from '../support/cbr.ts';

/**
 * A live stream across several key updates in each direction, on the simulator: every chunk
 * arrives intact and on time, as without updates (a stall would show as a late chunk).
 */
describe('key updates under a live stream', () => {
  it('a 3-minute 2 Mbit/s stream crosses five key updates each way with every chunk intact and none late', () => {
    // Updates every 35 s here (120 s by default) to cross several in a short run.
    const r = runCbr({
      paths: [transPacific({ lossRate: 0.01 })],
      seed: 1414,
      rateMbps: 2,
      durationMs: 3 * 60_000,
      fec: true,
      config: { keyUpdateIntervalMs: 35_000 },
    });
    const context = `p50 ${percentile(r.delays, 50).toFixed(0)} p99 ${percentile(r.delays, 99).toFixed(0)} max ${Math.max(...r.delays).toFixed(0)} ms, updates ${JSON.stringify(r.senderStats.keyUpdates)} / ${JSON.stringify(r.receiverStats.keyUpdates)}`;
    expect(r.corrupt, context).toBe(false);
    expect(r.chunksReceived, context).toBe(r.chunksSent);
    const updates = 5;
    expect(r.senderStats.keyUpdates, context).toEqual({ sent: updates, received: updates });
    expect(r.receiverStats.keyUpdates, context).toEqual({ sent: updates, received: updates });
    // Not one packet failed to open around an update (each would be a drop, then a retransmission).
    expect(r.senderStats.packetsDropped, context).toBe(0);
    expect(r.receiverStats.packetsDropped, context).toBe(0);
    // One-way delay is 90 ms; a chunk waits for its FEC group or, rarely, one retransmission.
    expect(Math.max(...r.delays), context).toBeLessThan(400);
    expect(percentile(r.delays, 99), context).toBeLessThan(200);
  });
});
