import { describe, expect, it } from 'vitest';
import { BbrController, type BbrConfig } from '../../../src/session/cc/bbr.ts';
import { Bottleneck, MSS } from './bottleneck.ts';

const CONFIG: BbrConfig = { mss: MSS, initialCwndPackets: 32, initialRate: 12_500, initialRtt: 200, maxRate: Infinity };
/** 20 Mbit/s, 40 ms, a 30 ms queue. */
const PATH = { rate: 2500, rttMs: 40, queueMs: 30 };

/** The states a run went through, in order, with when each began. */
function phases(b: Bottleneck): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const t of b.trace) if (out.length === 0 || out[out.length - 1][0] !== t.state) out.push([t.state, t.t]);
  return out;
}

/**
 * Synthetic ACKs, one a round: each acknowledges a round's worth of bytes at the given rate, with
 * the path's delivered count carried from one to the next as the real estimator keeps it.
 */
class Rounds {
  private now = 0;
  private delivered = 0;

  constructor(private readonly cc: BbrController) {}

  run(rounds: number, rate: number, opts: { appLimited?: boolean; rtt?: number; reorderPackets?: number } = {}): void {
    const rtt = opts.rtt ?? 40;
    for (let i = 0; i < rounds; i++) {
      const prior = this.delivered;
      const bytes = rate * rtt;
      this.delivered += bytes;
      this.now += rtt;
      this.cc.onAck({
        now: this.now,
        sample: { deliveryRate: rate, isAppLimited: opts.appLimited ?? false, isFirstFlight: false, ackedBytes: bytes, priorDelivered: prior },
        rtt,
        minRtt: 40,
        bytesInFlight: bytes,
        delivered: this.delivered,
        lostBytes: 0,
        reorderPackets: opts.reorderPackets ?? 0,
        liveBesideBulk: false,
      });
    }
  }
}

describe('BbrController', () => {
  it('leaves start-up once the bandwidth stops growing, drains, then cruises', () => {
    const b = new Bottleneck(new BbrController(CONFIG), PATH).run(2000);
    const seen = phases(b);
    expect(seen.map(([state]) => state)).toEqual(['startup', 'drain', 'probe_bw']);
    const [, drainAt] = seen[1];
    const [, cruiseAt] = seen[2];
    // From 32 packets to the 100 KB pipe at 2.9x a round takes ~3 rounds, then 3 flat rounds end it.
    expect(drainAt).toBeLessThan(15 * PATH.rttMs);
    expect(cruiseAt - drainAt).toBeLessThan(3 * PATH.rttMs);
    expect(b.cc.steadySince).toBeGreaterThanOrEqual(cruiseAt - 1);
  });

  it('cycles its pacing gain through 1.25, 0.75 and 1 while cruising, mostly at 1', () => {
    const b = new Bottleneck(new BbrController(CONFIG), PATH).run(4000);
    const cruise = b.trace.filter((t) => t.t > 2000).map((t) => Math.round((t.pacingRate / t.bottleneckBandwidth) * 100) / 100);
    const share = (gain: number) => cruise.filter((g) => g === gain).length / cruise.length;
    expect(share(1.25)).toBeGreaterThan(0.05);
    expect(share(0.75)).toBeGreaterThan(0.02);
    expect(share(1)).toBeGreaterThan(0.6);
    expect(share(1.25) + share(0.75) + share(1)).toBe(1);
  });

  it('does not lower its estimate for app-limited samples, while full ones age it out', () => {
    const cc = new BbrController(CONFIG);
    const rounds = new Rounds(cc);
    rounds.run(20, 2500);
    expect(cc.bottleneckBandwidth).toBe(2500);
    rounds.run(100, 300, { appLimited: true });
    expect(cc.bottleneckBandwidth).toBe(2500);
    // The same low samples from a path that is full are believed within the filter's window
    // (ten slots of at least a round and 50 ms: 20 rounds of 40 ms).
    rounds.run(30, 300);
    expect(cc.bottleneckBandwidth).toBe(300);
  });

  it('sizes the first round for the initial rate once a long path reports its RTT, and only then', () => {
    const long = new BbrController(CONFIG);
    long.onRttHint(180);
    expect(long.cwnd).toBe(CONFIG.initialRate * 180);
    expect(long.pacingRate).toBeCloseTo(CONFIG.initialRate, 6);
    const short = new BbrController(CONFIG);
    short.onRttHint(20);
    expect(short.cwnd).toBe(CONFIG.initialCwndPackets * MSS);
    const capped = new BbrController({ ...CONFIG, maxRate: 1000 });
    capped.onRttHint(180);
    expect(capped.pacingRate).toBe(1000);
  });

  it('turned careful by a rising RTT, paces at least at the first round\'s rate until a full sample measures the path', () => {
    // Rounds growing 30% each (start-up goes on) while host delay lifts every RTT after the first.
    const ramp = (appLimited: boolean): BbrController => {
      const cc = new BbrController(CONFIG);
      cc.onRttHint(180);
      const rounds = new Rounds(cc);
      let rate = 1000;
      for (let i = 0; i < 9; i++, rate = Math.round(rate * 1.3)) rounds.run(1, rate, { appLimited, rtt: i === 0 ? 180 : 230 });
      expect(cc.state).toBe('startup');
      expect(cc.bottleneckBandwidth * 1.25).toBeLessThan(CONFIG.initialRate);
      return cc;
    };
    // A live stream ramping up says nothing of the path: the first round's rate stands.
    expect(ramp(true).pacingRate).toBeGreaterThanOrEqual(CONFIG.initialRate);
    // A backlog's rounds measure it: careful paces at 1.25x of them (a slower path than assumed).
    const measured = ramp(false);
    expect(measured.pacingRate).toBeCloseTo(1.25 * measured.bottleneckBandwidth, 6);
  });

  it('beside live traffic starts up without overflowing a queue a third of the RTT, and drains gently', () => {
    // A download starting with a live stream: 100 Mbit/s, 180 ms, a 60 ms queue.
    const path = { rate: 12_500, rttMs: 180, queueMs: 60 };
    const live = new Bottleneck(new BbrController(CONFIG), { ...path, liveBesideBulk: true }).run(6000);
    expect(live.droppedByQueue).toBe(0);
    expect(phases(live).map(([state]) => state)).toEqual(['startup', 'drain', 'probe_bw']);
    // Never below 0.8x of the estimate: a live stream beside it must not be starved by the drain.
    const drain = live.trace.filter((t) => t.state === 'drain');
    for (const t of drain) expect(t.pacingRate).toBeGreaterThanOrEqual(0.79 * t.bottleneckBandwidth);
    expect(live.goodput(3000)).toBeGreaterThan(0.9 * path.rate);
    // Full-speed start-up learns the path is full a round late, and that round overflows the queue.
    const bulk = new Bottleneck(new BbrController(CONFIG), path).run(6000);
    expect(bulk.droppedByQueue).toBeGreaterThan(500);
  });

  it('beside live traffic takes no word of the first flight that the path is full', () => {
    // A first flight coming back 60 ms over the path's RTT (busy hosts), its samples only what of
    // it has come back so far: draining on those starved a live stream on real relays.
    const cc = new BbrController(CONFIG);
    cc.onRttHint(180);
    let delivered = 0;
    const ack = (now: number, priorDelivered: number, rate: number, rtt: number, bytesInFlight = 2_000_000): void => {
      delivered += 12 * MSS;
      cc.onAck({
        now,
        sample: { deliveryRate: rate, isAppLimited: false, isFirstFlight: priorDelivered === 0, ackedBytes: 12 * MSS, priorDelivered },
        rtt,
        minRtt: 180,
        bytesInFlight,
        delivered,
        lostBytes: 0,
        reorderPackets: 0,
        liveBesideBulk: true,
      });
    };
    ack(180, 0, 0, 180);
    for (let i = 0; i < 20; i++) ack(240 + i, 0, 500 + 100 * i, 240);
    expect(cc.state).toBe('startup');
    expect(cc.pacingRate).toBeGreaterThanOrEqual(CONFIG.initialRate);
    // The next flight's samples measure the path: the same rise now means a queue.
    for (let i = 0; i < 20; i++) ack(420 + i, delivered, 12_000, 240, 3_000_000);
    expect(cc.state).toBe('drain');
  });

  it('takes no word of a flight from an idle path after the first either: a stream opened after a short reply', () => {
    // A 64 KiB reply came and went; 300 ms later a live stream leaves the idle path, and its first
    // flight comes back over a queue the busy hosts built. Careful at 1.25x of what of it is back,
    // the stream (80 Mbit/s with its repairs) was paced at 31 Mbit/s on real relays.
    const cc = new BbrController(CONFIG);
    cc.onRttHint(180);
    let delivered = 0;
    // Every packet of a flight left when the same count had been delivered: one round.
    let flightFrom = 0;
    const ack = (now: number, sample: { rate: number; firstFlight: boolean; appLimited: boolean }, rtt: number): void => {
      const priorDelivered = flightFrom;
      delivered += 12 * MSS;
      cc.onAck({
        now,
        sample: { deliveryRate: sample.rate, isAppLimited: sample.appLimited, isFirstFlight: sample.firstFlight, ackedBytes: 12 * MSS, priorDelivered },
        rtt,
        minRtt: 180,
        bytesInFlight: 1_000_000,
        delivered,
        lostBytes: 0,
        reorderPackets: 0,
        liveBesideBulk: false,
      });
    };
    for (let i = 0; i < 4; i++) ack(180 + i, { rate: 350, firstFlight: true, appLimited: false }, 180);
    flightFrom = delivered;
    for (let i = 0; i < 30; i++) ack(700 + 5 * i, { rate: 2_000 + 200 * i, firstFlight: true, appLimited: true }, 210);
    expect(cc.state).toBe('startup');
    expect(cc.pacingRate).toBeGreaterThanOrEqual(CONFIG.initialRate);
  });

  it('leaves room in the window for the packets the path\'s reordering holds back, no more than 100 ms at the bottleneck rate', () => {
    const window = (reorderPackets: number): number => {
      const cc = new BbrController(CONFIG);
      new Rounds(cc).run(40, 2500, { reorderPackets });
      expect(cc.state).toBe('probe_bw');
      return cc.cwnd;
    };
    // Each packet overtaken is one more in flight (beyond what ACK clumps already left room for).
    expect(window(200) - window(100)).toBeCloseTo(100 * MSS, -2);
    expect(window(100)).toBeGreaterThan(window(0));
    // The count is the peer's word: a hostile or broken report is bounded by the bottleneck rate.
    expect(window(1e12)).toBe(window(1e9));
    expect(window(1e9)).toBeLessThanOrEqual(window(0) + 2500 * 100);
  });

  it('stays in start-up through idle rounds (keep-alives), and leaves it after a live stream\'s app-limited rounds', () => {
    const cc = new BbrController(CONFIG);
    const rounds = new Rounds(cc);
    // One keep-alive a round: tens of bytes. The first at the path's RTT, the rest lifted by a
    // download's queue the other way (the side that only receives it).
    rounds.run(1, 1, { appLimited: true, rtt: 40 });
    rounds.run(30, 1, { appLimited: true, rtt: 90 });
    expect(cc.state).toBe('startup');
    expect(cc.pacingRate).toBeGreaterThanOrEqual((2.885 * CONFIG.initialCwndPackets * MSS) / CONFIG.initialRtt);
    // A stream of 2,000 bytes/ms (80 KB a 40 ms round) that never fills the pipe: its first round
    // is growth, then probe_bw after three without.
    rounds.run(3, 2000, { appLimited: true });
    expect(cc.state).toBe('startup');
    rounds.run(1, 2000, { appLimited: true });
    expect(cc.state).toBe('probe_bw');
  });

  it('learns random loss from cruising rounds and paces above its estimate to make up for it', () => {
    const b = new Bottleneck(new BbrController(CONFIG), { ...PATH, lossRate: 0.05, seed: 11 }).run(8000);
    const loss = b.cc.randomLossRate;
    expect(loss).toBeGreaterThan(0.02);
    expect(loss).toBeLessThan(0.08);
    const cruising = b.trace.filter((t) => t.t > 6000 && Math.abs(t.pacingRate * (1 - loss) - t.bottleneckBandwidth) < 1);
    expect(cruising.length).toBeGreaterThan(0);
  });

  it('backs off a queue that stands through cruising rounds', () => {
    // The path turns out slower than the model (2400 bytes/ms, not 2500) and a queue stands,
    // 20 ms above the minimum RTT: the estimate comes down until the queue drains.
    const cc = new BbrController(CONFIG);
    const rounds = new Rounds(cc);
    rounds.run(30, 2500);
    expect(cc.state).toBe('probe_bw');
    rounds.run(6, 2400, { rtt: 60 });
    // Backed off 2% an epoch below what the path delivers, so the queue drains.
    expect(cc.bottleneckBandwidth).toBeLessThan(2400);
    expect(cc.bottleneckBandwidth).toBeGreaterThan(0.85 * 2400);
  });

  it('after an outage starts over no larger than the pipe it had', () => {
    const b = new Bottleneck(new BbrController(CONFIG), PATH).run(3000);
    b.cc.reset();
    expect(b.cc.state).toBe('startup');
    expect(b.cc.bottleneckBandwidth).toBe(0);
    const pipe = PATH.rate * PATH.rttMs;
    expect(b.cc.cwnd).toBeGreaterThanOrEqual(4 * MSS);
    expect(b.cc.cwnd).toBeLessThanOrEqual(1.1 * pipe);
  });
});
