import { describe, expect, it } from 'vitest';
import { SentHistory } from '../../../src/session/ack/sentHistory.ts';
import { sentPacket } from '../../support/pathParts.ts';

const packet = (pn: number) => sentPacket(pn, pn);

describe('SentHistory', () => {
  it('finds, takes and walks packets in number order, skipping the ones taken', () => {
    const h = new SentHistory();
    for (let pn = 10; pn < 20; pn++) h.add(packet(pn));
    expect(h.count).toBe(10);
    expect(h.get(9)).toBeUndefined();
    expect(h.get(20)).toBeUndefined();
    expect(h.take(12)?.pn).toBe(12);
    expect(h.take(12)).toBeUndefined();
    expect(h.take(10)?.pn).toBe(10);
    expect(h.oldest()?.pn).toBe(11);
    const walked: number[] = [];
    h.forEachBelow(16, (p) => (walked.push(p.pn), true));
    expect(walked).toEqual([11, 13, 14, 15]);
    const stopped: number[] = [];
    h.forEachBelow(20, (p) => (stopped.push(p.pn), p.pn < 13));
    expect(stopped).toEqual([11, 13]);
    expect(h.nextPn).toBe(20);
  });

  it('finds the nth packet present from a number on, within a span, or the last one there', () => {
    const h = new SentHistory();
    for (const pn of [10, 11, 14, 15, 16, 40]) h.add(packet(pn));
    h.take(11);
    expect(h.nthFrom(11, 1, 64)?.pn).toBe(14);
    expect(h.nthFrom(11, 3, 64)?.pn).toBe(16);
    expect(h.nthFrom(15, 3, 64)?.pn).toBe(40);
    expect(h.nthFrom(15, 3, 10)?.pn).toBe(16);
    expect(h.nthFrom(41, 1, 64)).toBeUndefined();
    expect(h.nthFrom(17, 1, 10)).toBeUndefined();
  });

  it('is empty, with its lowest number past the last added, once everything is taken', () => {
    const h = new SentHistory();
    for (let pn = 0; pn < 5; pn++) h.add(packet(pn));
    for (let pn = 4; pn >= 0; pn--) h.take(pn);
    expect(h.count).toBe(0);
    expect(h.oldest()).toBeUndefined();
    expect(h.lowestPn).toBe(5);
    h.add(packet(9));
    expect(h.oldest()?.pn).toBe(9);
  });

  it('grows past its first ring while an old packet stays unacknowledged', () => {
    const h = new SentHistory();
    for (let pn = 0; pn < 5000; pn++) h.add(packet(pn));
    for (let pn = 1; pn < 4990; pn++) h.take(pn);
    expect(h.count).toBe(11);
    expect(h.oldest()?.pn).toBe(0);
    expect(h.get(4999)?.pn).toBe(4999);
    expect(h.get(1)).toBeUndefined();
    h.take(0);
    expect(h.lowestPn).toBe(4990);
  });
});
