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
