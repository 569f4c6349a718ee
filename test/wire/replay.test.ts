import { describe, expect, it } from 'vitest';
import { ReplayWindow } from '../../src/wire/replay.ts';
import { MAX_PACKET_NUMBER } from '../../src/wire/packet.ts';
import { int, seeded } from './seed.ts';

/** The specification: accept iff above highest - size and never accepted before. */
class ModelWindow {
  private readonly seen = new Set<number>();
  private highest = -1;
  constructor(private readonly size: number) {}
  accept(pn: number): boolean {
    if (pn <= this.highest - this.size || this.seen.has(pn)) return false;
    this.seen.add(pn);
    this.highest = Math.max(this.highest, pn);
    return true;
  }
}

describe('ReplayWindow', () => {
  it('accepts each packet number once, in any order within the window', () => {
    const w = new ReplayWindow(64);
    expect(w.size).toBe(64);
    expect(w.highest).toBe(-1);
    expect(w.accept(5)).toBe(true);
    expect(w.accept(5)).toBe(false);
    expect(w.accept(0)).toBe(true);
    expect(w.accept(3)).toBe(true);
    expect(w.accept(3)).toBe(false);
    expect(w.highest).toBe(5);
  });

  it('rejects numbers at or below highest - size', () => {
    const w = new ReplayWindow(64);
    expect(w.accept(100)).toBe(true);
    expect(w.accept(36)).toBe(false);
    expect(w.accept(37)).toBe(true);
    expect(w.accept(37)).toBe(false);
  });

  it('rounds the size up to whole words', () => {
    expect(new ReplayWindow(1).size).toBe(32);
    expect(new ReplayWindow(100).size).toBe(128);
    expect(new ReplayWindow().size).toBe(4096);
    expect(() => new ReplayWindow(0)).toThrow(RangeError);
  });

  it('forgets nothing inside the window when positions wrap around the ring', () => {
    const w = new ReplayWindow(64);
    // Walk far enough that every word position is reused several times.
    for (let pn = 0; pn < 1000; pn += 2) expect(w.accept(pn)).toBe(true);
    for (let pn = 998; pn > 998 - 64; pn--) expect(w.accept(pn)).toBe(pn % 2 === 1);
    for (let pn = 998; pn > 998 - 64; pn--) expect(w.accept(pn)).toBe(false);
  });

  it('handles large jumps, including to 2^48-1', () => {
    const w = new ReplayWindow(128);
    for (let pn = 0; pn < 10; pn++) w.accept(pn);
    expect(w.accept(1_000_000)).toBe(true);
    expect(w.accept(9)).toBe(false);
    expect(w.accept(999_999)).toBe(true);
    expect(w.accept(2 ** 33 + 5)).toBe(true);
    expect(w.accept(2 ** 33 + 4)).toBe(true);
    expect(w.accept(2 ** 33 + 5)).toBe(false);
    expect(w.accept(MAX_PACKET_NUMBER)).toBe(true);
    expect(w.accept(MAX_PACKET_NUMBER)).toBe(false);
    expect(w.accept(MAX_PACKET_NUMBER - 127)).toBe(true);
    expect(w.accept(MAX_PACKET_NUMBER - 128)).toBe(false);
    expect(w.accept(2 ** 33 + 3)).toBe(false);
  });

  it(
    'agrees with a set-based model on random reordered, duplicated and jumping traffic',
    seeded((rng) => {
      for (const size of [32, 64, 96, 4096]) {
        const w = new ReplayWindow(size);
        const model = new ModelWindow(w.size);
        let next = int(rng, 0, 2 ** 40);
        for (let i = 0; i < 20_000; i++) {
          const roll = rng.next();
          let pn: number;
          if (roll < 0.6) pn = next++;
          else if (roll < 0.9) pn = Math.max(0, next - int(rng, 1, size + 40));
          else if (roll < 0.99) pn = next + int(rng, 0, size * 2);
          else pn = next + int(rng, 0, 2 ** 20);
          if (pn >= next) next = pn + 1;
          const got = w.accept(pn);
          const want = model.accept(pn);
          if (got !== want) expect(got, `size ${size} step ${i} pn ${pn}`).toBe(want);
        }
      }
    }),
  );
});
