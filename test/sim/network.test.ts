import { describe, expect, it } from 'vitest';
import { SimNetwork, symmetric, transPacific, type SimNode } from '../../src/sim/network.ts';

/** Sends `size`-byte packets every `intervalMs` (paced: null plus a future timeout in between). */
class PacedSender implements SimNode {
  seq = 0;
  nextSend: number;
  acks = 0;
  readonly received: Array<{ now: number; pathId: number }> = [];
  constructor(
    readonly intervalMs: number,
    readonly count: number,
    readonly paths: number[] = [0],
    readonly size = 1200,
    start = 0,
  ) {
    this.nextSend = start;
  }
  handleDatagram(now: number, pathId: number): void {
    this.acks++;
    this.received.push({ now, pathId });
  }
  pollTransmit(now: number): { pathId: number; bytes: Uint8Array } | null {
    if (this.seq >= this.count || now < this.nextSend) return null;
    const bytes = new Uint8Array(this.size);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, this.seq);
    view.setFloat64(4, now);
    const pathId = this.paths[this.seq % this.paths.length];
    this.seq++;
    this.nextSend += this.intervalMs;
    return { pathId, bytes };
  }
  nextTimeout(): number | null {
    return this.seq < this.count ? this.nextSend : null;
  }
  handleTimeout(): void {}
}

/** Records arrivals; acknowledges every `ackEvery`-th packet with a 40-byte datagram on its path. */
class Receiver implements SimNode {
  readonly arrivals: Array<{ now: number; pathId: number; seq: number; sentAt: number }> = [];
  private readonly pending: Array<{ pathId: number; bytes: Uint8Array }> = [];
  count = 0;
  constructor(
    readonly ackEvery = 0,
    readonly record = true,
  ) {}
  handleDatagram(now: number, pathId: number, bytes: Uint8Array): void {
    this.count++;
    if (this.record) {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      this.arrivals.push({ now, pathId, seq: view.getUint32(0), sentAt: view.getFloat64(4) });
    }
    if (this.ackEvery > 0 && this.count % this.ackEvery === 0) this.pending.push({ pathId, bytes: new Uint8Array(40) });
  }
  pollTransmit(): { pathId: number; bytes: Uint8Array } | null {
    return this.pending.shift() ?? null;
  }
  nextTimeout(): number | null {
    return null;
  }
  handleTimeout(): void {}
}

describe('SimNetwork', () => {
  it('delivers each datagram at its path delay, in time order, on its path', () => {
    const a = new PacedSender(1, 200, [0, 1]);
    const b = new Receiver(1);
    const net = new SimNetwork({
      a,
      b,
      seed: 1,
      paths: [symmetric({ delayMs: 10 }), symmetric({ delayMs: 30 })],
    });
    expect(net.runUntil(1_000)).toBe(false);
    expect(net.now).toBe(1_000);
    expect(b.arrivals).toHaveLength(200);
    for (let i = 0; i < b.arrivals.length; i++) {
      const { now, pathId, seq, sentAt } = b.arrivals[i];
      expect(sentAt).toBe(seq); // paced exactly at its timeouts: one per ms from 0
      expect(pathId).toBe(seq % 2);
      expect(now - sentAt).toBe(pathId === 0 ? 10 : 30);
      if (i > 0) expect(now).toBeGreaterThanOrEqual(b.arrivals[i - 1].now);
    }
    // Acks went back on the path each packet arrived on, one path delay later.
    expect(a.acks).toBe(200);
    expect(a.received.filter((r) => r.pathId === 1)).toHaveLength(100);
    expect(net.links[0].aToB.stats.delivered).toBe(100);
    expect(net.links[1].bToA.stats.delivered).toBe(100);
    expect(net.stats.transmits).toBe(400);
  });

  it('is deterministic: the same seed gives the same trace, another seed another', () => {
    const trace = (seed: number): string => {
      const b = new Receiver(3);
      const a = new PacedSender(0.2, 20_000, [0, 1, 2]);
      const lossy = { delayMs: 90, jitterMs: 8, lossRate: 0.02, burstLoss: { meanLossRate: 0.03, meanBurstLength: 4 } };
      const net = new SimNetwork({
        a,
        b,
        seed,
        paths: [symmetric(lossy), symmetric({ ...lossy, reorder: true }), transPacific({ lossRate: 0.05, rateMbps: 20 })],
      });
      net.runUntil(5_000);
      return JSON.stringify([b.arrivals, a.received]);
    };
    const seed = 0x5eed;
    expect(trace(seed), `seed ${seed}`).toBe(trace(seed));
    expect(trace(seed)).not.toBe(trace(seed + 1));
  });

  it('runs at/every callbacks at their times, stops `every` on false, and changes links on the fly', () => {
    const a = new PacedSender(1, 1_000);
    const b = new Receiver();
    const net = new SimNetwork({ a, b, seed: 2, paths: [symmetric({ delayMs: 5 })], startMs: 100 });
    const calls: string[] = [];
    net.at(150, (now) => calls.push(`at ${now}`));
    let ticks = 0;
    net.every(100, (now) => {
      calls.push(`every ${now}`);
      return ++ticks < 3 ? undefined : false;
    });
    // Path 0 goes dark for 100 ms at t = 400.
    net.at(400, (now) => net.links[0].aToB.setConfig({ blackouts: [{ fromMs: now, toMs: now + 100 }] }));
    a.nextSend = 100;
    net.runUntil(2_000);
    expect(calls).toEqual(['at 150', 'every 200', 'every 300', 'every 400']);
    const sent = b.arrivals.map((r) => r.sentAt);
    expect(sent.filter((t) => t >= 400 && t < 500)).toHaveLength(0);
    expect(sent).toHaveLength(900);
    expect(net.links[0].aToB.stats.droppedBlackout).toBe(100);
    expect(() => net.at(10, () => {})).toThrow(RangeError);
  });

  it('stops when `until` becomes true and resumes from there', () => {
    const b = new Receiver();
    const net = new SimNetwork({ a: new PacedSender(2, 100), b, seed: 3, paths: [symmetric({ delayMs: 20 })] });
    expect(net.runUntil(10_000, () => b.arrivals.length === 10)).toBe(true);
    expect(net.now).toBe(18 + 20);
    expect(net.runUntil(10_000)).toBe(false);
    expect(b.arrivals).toHaveLength(100);
  });

  it('runs onStep after every instant and re-runs the instant on kick', () => {
    const b = new Receiver();
    const net = new SimNetwork({ a: new PacedSender(10, 5), b, seed: 4, paths: [symmetric({ delayMs: 1 })] });
    const steps: number[] = [];
    let work = 0;
    net.at(25, () => {
      work = 3;
    });
    net.onStep((now) => {
      steps.push(now);
      if (work > 0) {
        work--;
        net.kick(); // more work queued for this very instant
      }
    });
    net.runUntil(100);
    // Nothing is due at 100: the clock jumps there without an instant to process.
    expect(steps).toEqual([0, 1, 10, 11, 20, 21, 25, 25, 25, 25, 30, 31, 40, 41]);
  });

  it('nudges the clock past a timer that does not move and throws on a livelock', () => {
    // A timer that stays due for 5 calls of handleTimeout, then moves away.
    let stuckCalls = 0;
    const sticky: SimNode = {
      handleDatagram() {},
      pollTransmit: () => null,
      nextTimeout: () => (stuckCalls < 5 ? 7 : null),
      handleTimeout: () => void stuckCalls++,
    };
    const net = new SimNetwork({ a: sticky, b: new Receiver(), seed: 5, paths: [symmetric({ delayMs: 1 })] });
    net.runUntil(100);
    expect(stuckCalls).toBe(5);
    expect(net.stats.stalls).toBe(4);

    const broken: SimNode = { ...sticky, nextTimeout: () => 0, handleTimeout() {} };
    const dead = new SimNetwork({ a: new Receiver(), b: broken, seed: 5, paths: [symmetric({ delayMs: 1 })] });
    expect(() => dead.runUntil(10_000)).toThrow(/livelock.*node b/);
  });

  it('rejects a transmit on an unknown path', () => {
    const net = new SimNetwork({ a: new PacedSender(1, 1, [3]), b: new Receiver(), seed: 6, paths: [symmetric({ delayMs: 1 })] });
    expect(() => net.runUntil(10)).toThrow(/unknown path 3/);
  });

  it('runs a 60 s trans-Pacific transfer at 100 Mbit/s fast (simulator overhead)', () => {
    // 1200-byte packets paced at the bottleneck rate (wire size 1228), acks every 2nd packet.
    const interval = (1228 * 8) / 100e3;
    const count = Math.floor(60_000 / interval);
    const a = new PacedSender(interval, count);
    const b = new Receiver(2, false);
    const net = new SimNetwork({ a, b, seed: 7, paths: [transPacific({ lossRate: 0.01 })] });
    const t0 = performance.now();
    net.runUntil(61_000);
    const wallMs = performance.now() - t0;
    const { events } = net.stats;
    console.log(
      `sim: ${count} packets, ${events} events in ${wallMs.toFixed(0)} ms = ` +
        `${((events / wallMs) * 1e3 / 1e6).toFixed(2)} M events/s (test nodes allocate a 1200-byte buffer per packet)`,
    );
    expect(net.links[0].aToB.stats.droppedQueue).toBe(0);
    expect(b.count).toBe(net.links[0].aToB.stats.delivered);
    expect(Math.abs(b.count / count - 0.99)).toBeLessThan(0.002);
    expect(a.acks).toBe(Math.floor(b.count / 2) - net.links[0].bToA.stats.droppedLoss);
    expect(wallMs).toBeLessThan(15_000);
  });
});
