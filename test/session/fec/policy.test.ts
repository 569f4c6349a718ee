import { describe, expect, it } from 'vitest';
import { chooseFecParams, unrecoveredFraction } from '../../../src/session/fec/policy.ts';

const residual = (p: { k: number; m: number } | null, lossRate: number): number => (p === null ? 1 : unrecoveredFraction(p.k, p.m, lossRate));

describe('FEC policy', () => {
  it('keeps the latency lane at 16 while the path has room for what the loss needs', () => {
    const p = chooseFecParams({ lossRate: 0.03, meanBurst: 1 }, 'latency');
    expect(p?.k).toBe(16);
  });

  it('widens a capped latency group to restore more at the same overhead: 6.5% loss, room for 25%', () => {
    const loss = { lossRate: 0.065, meanBurst: 1 };
    const capped = chooseFecParams(loss, 'latency', 0.25)!;
    expect(capped.m / capped.k).toBeLessThanOrEqual(0.25);
    expect(capped.k).toBeGreaterThan(16);
    // What the narrow group would have left to ARQ, against the wider one.
    expect(residual({ k: 16, m: 4 }, loss.lossRate)).toBeGreaterThan(0.02);
    expect(residual(capped, loss.lossRate)).toBeLessThan(0.005);
  });

  it('sends no repairs when the room cannot afford one per group', () => {
    expect(chooseFecParams({ lossRate: 0.05, meanBurst: 1 }, 'latency', 0.01)).toBeNull();
  });
});
