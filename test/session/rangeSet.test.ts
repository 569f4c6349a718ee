import { expect, it } from 'vitest';
import { RangeSet } from '../../src/session/rangeSet.ts';
import { SeededRng } from '../../src/base/rng.ts';

/** Against a plain boolean array as the oracle, random adds and removes keep the same members. */
it('RangeSet matches a bitmap oracle under random adds, removes and trims', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const rng = new SeededRng(seed);
    const set = new RangeSet();
    const oracle = new Array<boolean>(300).fill(false);
    for (let op = 0; op < 400; op++) {
      const a = Math.floor(rng.next() * 300);
      const b = Math.min(300, a + Math.floor(rng.next() * 20));
      const kind = rng.next();
      if (kind < 0.6) {
        let fresh = 0;
        for (let i = a; i < b; i++) if (!oracle[i]) fresh++;
        expect(set.add(a, b), `seed ${seed} op ${op}`).toBe(fresh);
        for (let i = a; i < b; i++) oracle[i] = true;
      } else if (kind < 0.9) {
        set.remove(a, b);
        for (let i = a; i < b; i++) oracle[i] = false;
      } else {
        set.removeBelow(a);
        for (let i = 0; i < a; i++) oracle[i] = false;
      }
      const members = oracle.map((_, i) => set.has(i));
      expect(members, `seed ${seed} op ${op}`).toEqual(oracle);
      expect(set.size()).toBe(oracle.filter(Boolean).length);
      for (let r = 1; r < set.rangeCount; r++) expect(set.startAt(r)).toBeGreaterThan(set.endAt(r - 1));
      const gaps: number[] = [];
      set.forEachGap(a, b, (s, e) => {
        for (let i = s; i < e; i++) gaps.push(i);
      });
      const expectedGaps = [];
      for (let i = a; i < b; i++) if (!oracle[i]) expectedGaps.push(i);
      expect(gaps).toEqual(expectedGaps);
    }
  }
});
