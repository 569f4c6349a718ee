import { describe, expect, it } from 'vitest';
import { WindowedMax } from '../../../src/session/cc/windowedMax.ts';

describe('WindowedMax', () => {
  it('keeps the largest sample of the last rounds and forgets older ones', () => {
    const m = new WindowedMax(3);
    expect(m.update(0, 5)).toBe(5);
    expect(m.update(0, 3)).toBe(5);
    expect(m.update(1, 2)).toBe(5);
    expect(m.update(2, 1)).toBe(5);
    expect(m.update(3, 1)).toBe(2);
    expect(m.update(5, 0.5)).toBe(1);
    expect(m.update(9, 0.25)).toBe(0.25);
  });

  it('clamps every sample, and starts over on reset', () => {
    const m = new WindowedMax(4);
    m.update(0, 10);
    m.update(1, 8);
    m.clamp(6);
    expect(m.value).toBe(6);
    expect(m.update(2, 1)).toBe(6);
    m.reset();
    expect(m.value).toBe(0);
    expect(m.update(3, 2)).toBe(2);
  });
});
