import { describe, expect, it } from 'vitest';
import { loadFec } from '../../src/fec/index.ts';
import { FecDecoder } from '../../src/session/fec/decoder.ts';
import { FecEncoder } from '../../src/session/fec/encoder.ts';
import { chooseFecParams, unrecoveredFraction } from '../../src/session/fec/policy.ts';
import { SeededRng } from '../../src/base/rng.ts';

describe('FEC encoder and decoder', () => {
  it('restore every lost datagram of a group that lost no more than m, byte-exact, at any lengths', () => {
    const rs = loadFec();
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new SeededRng(seed);
      const encoder = new FecEncoder(rs);
      const decoder = new FecDecoder(rs);
      const params = chooseFecParams({ lossRate: 0.05 + rng.next() * 0.1, meanBurst: 1 + rng.next() * 4 }, rng.next() < 0.5 ? 'bulk' : 'latency')!;
      encoder.setParams(params.lane, params);
      const sent: Uint8Array[] = [];
      const lostPerGroup = new Map<number, number>();
      for (let i = 0; i < params.k * params.depth; i++) {
        const tag = encoder.assign(0, params.lane)!;
        const datagram = new Uint8Array(20 + Math.floor(rng.next() * 1300));
        rng.fill(datagram);
        sent.push(datagram);
        encoder.addSource(tag.group, tag.index, datagram);
        const lost = rng.next() < 0.15;
        if (!lost) decoder.onSource(0, tag.group.id, tag.index, datagram);
        else lostPerGroup.set(tag.group.id, (lostPerGroup.get(tag.group.id) ?? 0) + 1);
      }
      const restored: Uint8Array[] = [];
      let repairs = 0;
      let clock = 0;
      for (let r = encoder.peekRepair(clock); encoder.nextRepairTime() < Infinity; r = encoder.peekRepair(clock)) {
        if (r === null) {
          clock = encoder.nextRepairTime();
          continue;
        }
        repairs++;
        restored.push(...decoder.onRepair(0, r.group.id, r.index, r.group.finalK, r.group.repairs.length, r.group.repairs[r.index]));
        encoder.onRepairSent(r.group, clock, 1, () => [0]);
      }
      expect(repairs, `seed ${seed}`).toBe(params.m * params.depth);
      for (const d of restored) expect(sent.some((s) => s.length === d.length && s.every((b, i) => b === d[i])), `seed ${seed}`).toBe(true);
      let restorable = 0;
      for (const n of lostPerGroup.values()) if (n <= params.m) restorable += n;
      expect(restored.length, `seed ${seed}`).toBe(restorable);
    }
  });

  it('policy: no FEC on a clean path, repairs within 1.5x the loss plus a constant, residual near target', () => {
    expect(chooseFecParams({ lossRate: 0.001, meanBurst: 1 }, 'bulk')).toBeNull();
    for (const p of [0.01, 0.03, 0.05, 0.1]) {
      const params = chooseFecParams({ lossRate: p, meanBurst: 1 }, 'bulk')!;
      expect(params.m / params.k).toBeLessThanOrEqual(1.5 * p + 0.05 + 1 / params.k);
      expect(unrecoveredFraction(params.k, params.m, p)).toBeLessThan(0.1);
    }
  });
});
