import { describe, expect, it } from 'vitest';
import type { SentPacket } from '../../../src/session/ack/sentPacket.ts';
import { DeliveryRateEstimator } from '../../../src/session/cc/deliveryRate.ts';
import { sentPacket } from '../../support/pathParts.ts';

const SIZE = 1000;

const packet = (pn: number, timeSent: number) => sentPacket(pn, timeSent, SIZE);

/** Sends `count` packets `gapMs` apart from `start`, stamping each with the bytes in flight before it. */
function send(d: DeliveryRateEstimator, start: number, count: number, gapMs: number, firstPn = 0, inFlight = 0): SentPacket[] {
  return Array.from({ length: count }, (_, i) => {
    const p = packet(firstPn + i, start + i * gapMs);
    d.onPacketSent(p, p.timeSent, inFlight + i * SIZE);
    return p;
  });
}

describe('DeliveryRateEstimator (draft-cheng-iccrg-delivery-rate-estimation)', () => {
  /**
   * One packet a millisecond for 200 ms, packet `pn` acknowledged `ackAfter(pn)` ms after it left.
   * Returns each ACK's rate sample.
   */
  function paced(ackAfter: (pn: number) => number): number[] {
    const d = new DeliveryRateEstimator();
    const inFlight: SentPacket[] = [];
    const rates: number[] = [];
    const ack = (ps: SentPacket[], now: number) => {
      for (const p of ps) {
        d.onPacketAcked(p, now);
        inFlight.splice(inFlight.indexOf(p), 1);
      }
      rates.push(d.takeSample(50).deliveryRate);
    };
    for (let now = 0; now < 300; now++) {
      const due = inFlight.filter((p) => p.timeSent + ackAfter(p.pn) === now);
      if (due.length > 0) ack(due, now);
      if (now < 200) {
        const p = packet(now, now);
        d.onPacketSent(p, now, inFlight.length * SIZE);
        inFlight.push(p);
      }
    }
    return rates;
  }

  it('measures a paced flow at its sending rate once the first round is acknowledged', () => {
    const rates = paced(() => 50);
    // From the second round on, every sample spans exactly one round of delivered bytes.
    for (const r of rates.slice(100)) expect(r).toBeCloseTo(SIZE, 6);
  });

  it('is immune to ACK compression: ACKs that catch up never read above the sending rate', () => {
    // The ACK path's queue drains at packet 100: ACKs that took 90 ms now take 50, so those of
    // packets 100-139 arrive in one clump with that of packet 99, and the ones after sooner
    // than packets left a round before.
    const rates = paced((pn) => (pn < 100 ? 90 : Math.max(50, 189 - pn)));
    expect(Math.max(...rates.slice(100))).toBeLessThanOrEqual(SIZE * 1.000001);
  });

  it('gives no rate for an interval shorter than min RTT', () => {
    const d = new DeliveryRateEstimator();
    const sent = send(d, 0, 2, 1);
    d.onPacketAcked(sent[0], 10);
    expect(d.takeSample(50).deliveryRate).toBe(0);
    d.onPacketAcked(sent[1], 11);
    expect(d.takeSample(Infinity).deliveryRate, 'no min RTT yet: any interval counts').toBeGreaterThan(0);
  });

  it('marks packets sent while the application had nothing to send, until they are delivered', () => {
    const d = new DeliveryRateEstimator();
    const before = send(d, 0, 2, 1);
    d.onAppLimited(2 * SIZE);
    expect(d.isAppLimited).toBe(true);
    const limited = send(d, 2, 2, 1, 2, 2 * SIZE);
    expect(limited.every((p) => p.isAppLimited)).toBe(true);
    for (const p of before) d.onPacketAcked(p, 60);
    expect(d.takeSample(50).isAppLimited).toBe(false);
    d.onPacketAcked(limited[0], 61);
    expect(d.takeSample(50).isAppLimited).toBe(true);
    d.onPacketAcked(limited[1], 62);
    expect(d.isAppLimited, 'everything sent app-limited is delivered').toBe(false);
    const after = send(d, 62, 1, 1, 4, 0);
    expect(after[0].isAppLimited).toBe(false);
  });

  it('tells the packets of a flight that left an idle path from those sent once part of it was delivered', () => {
    const d = new DeliveryRateEstimator();
    // 64 packets leave an idle path in 6.4 ms and come back a round trip (180 ms) later.
    const burst = send(d, 0, 64, 0.1);
    d.onPacketAcked(burst[0], 180);
    const first = d.takeSample(180);
    expect(first.isFirstFlight).toBe(true);
    expect(first.isAppLimited, 'data was queued behind every packet but the last').toBe(false);
    const next = send(d, 181, 1, 0, 64, 63 * SIZE);
    for (const p of burst.slice(1)) d.onPacketAcked(p, 186);
    expect(d.takeSample(180).isFirstFlight, 'the rest of the first flight').toBe(true);
    // Sent after that first ACK: the sample spans a round of deliveries, not what of the flight is back.
    d.onPacketAcked(next[0], 361);
    expect(d.takeSample(180).isFirstFlight).toBe(false);
    // Idle again: the next flight starts over.
    const later = send(d, 1000, 2, 1, 65, 0);
    d.onPacketAcked(later[1], 1180);
    expect(d.takeSample(180).isFirstFlight).toBe(true);
  });

  it('reports the delivered count when the newest acknowledged packet left, for round counting', () => {
    const d = new DeliveryRateEstimator();
    const first = send(d, 0, 3, 1);
    for (const p of first) d.onPacketAcked(p, 50);
    expect(d.takeSample(50).priorDelivered).toBe(0);
    const second = send(d, 50, 3, 1, 3, 0);
    d.onPacketAcked(second[2], 100);
    const s = d.takeSample(50);
    expect(s.priorDelivered).toBe(3 * SIZE);
    expect(s.ackedBytes).toBe(SIZE);
  });
});
