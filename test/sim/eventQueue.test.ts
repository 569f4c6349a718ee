import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/base/rng.ts';
import { EventQueue } from '../../src/sim/eventQueue.ts';

describe('EventQueue', () => {
  it('pops in time order, FIFO among equal times, matching a sorted reference', () => {
    const seed = 0xc0ffee;
    const rng = new SeededRng(seed);
    const q = new EventQueue<number>();
    const ref: Array<{ time: number; id: number; tag: number }> = [];
    let id = 0;
    const popped: number[] = [];
    const expected: number[] = [];
    // Interleave pushes and pops so the heap grows, shrinks and regrows; coarse times force ties.
    for (let round = 0; round < 20_000; round++) {
      if (rng.next() < 0.6 || q.size === 0) {
        const time = Math.floor(rng.next() * 50);
        const tag = rng.nextU32() | 0;
        q.push(time, tag, id);
        ref.push({ time, id, tag });
        id++;
      } else {
        ref.sort((x, y) => x.time - y.time || x.id - y.id);
        const head = ref.shift()!;
        expect(q.nextTime, `seed ${seed}`).toBe(head.time);
        expect(q.nextTag, `seed ${seed}`).toBe(head.tag);
        popped.push(q.pop());
        expected.push(head.id);
      }
      expect(q.size).toBe(ref.length);
    }
    expect(popped, `seed ${seed}`).toEqual(expected);
  });

  it('reports Infinity when empty, throws on pop from empty, and clears', () => {
    const q = new EventQueue<string>();
    expect(q.nextTime).toBe(Infinity);
    expect(() => q.pop()).toThrow(/empty/);
    q.push(3, 0, 'x');
    q.push(1, 0, 'y');
    q.clear();
    expect(q.size).toBe(0);
    expect(q.nextTime).toBe(Infinity);
    q.push(2, 7, 'z');
    expect(q.nextTag).toBe(7);
    expect(q.pop()).toBe('z');
  });

  it('keeps FIFO order for a long run of identical times', () => {
    const q = new EventQueue<number>();
    for (let i = 0; i < 1000; i++) q.push(5, 0, i);
    for (let i = 0; i < 1000; i++) expect(q.pop()).toBe(i);
  });
});
