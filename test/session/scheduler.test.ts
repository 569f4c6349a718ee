import { describe, expect, it } from 'vitest';
import { Path } from '../../src/session/path.ts';
import { Scheduler } from '../../src/session/scheduler.ts';
import { PATH_CONFIG as CONFIG } from '../support/pathParts.ts';

const NOW = 1000;

/** An up path with this smoothed RTT, free to send now. */
function path(id: number, rttMs: number, opts: { backup?: boolean } = {}): Path {
  const p = new Path(id, { ...CONFIG, backup: opts.backup ?? false });
  p.state = 'up';
  p.rtt.update(rttMs, 0);
  return p;
}

/** Paces `p` so that its next packet may leave no earlier than `at`. */
function busyUntil(p: Path, at: number): void {
  while (p.pacer.releaseTime() < at) p.pacer.onSend(NOW, CONFIG.mtu, p.cc.pacingRate);
}

const noBacklog = () => 0;
const bigBacklog = (atLeast: number) => atLeast;

/**
 * What every scheduler promises, whatever its policy: the path it names for the next packet is
 * up, has window room, and is a backup only while no regular path is up. One line per
 * implementation.
 */
const schedulers: Array<{ name: string; make: () => Scheduler }> = [{ name: 'Scheduler (earliest completion first)', make: () => new Scheduler() }];

describe.each(schedulers)('$name keeps the scheduler contract', ({ make }) => {
  it('names the path where a packet arrives first when all are free', () => {
    const fast = path(0, 20);
    const slow = path(1, 100);
    expect(make().earliest(NOW, [slow, fast])).toBe(fast);
  });

  it('never names a path that is not up or has no window room', () => {
    const fast = path(0, 20);
    const slow = path(1, 100);
    fast.state = 'down';
    expect(make().earliest(NOW, [fast, slow])).toBe(slow);
    slow.bytesInFlight = slow.cc.cwnd;
    expect(make().earliest(NOW, [fast, slow])).toBeNull();
  });

  it('uses a backup path only while no regular path is up', () => {
    const regular = path(0, 100);
    const backup = path(1, 20, { backup: true });
    const s = make();
    expect(s.earliest(NOW, [regular, backup])).toBe(regular);
    busyUntil(regular, NOW + 50);
    expect(s.fallback(NOW, [regular, backup], regular, bigBacklog), 'a free backup is no fallback').toBeNull();
    regular.state = 'down';
    expect(s.earliest(NOW, [regular, backup])).toBe(backup);
  });

  it('skips the holes of a sparse path table', () => {
    const p = path(2, 50);
    expect(make().earliest(NOW, [undefined, undefined, p])).toBe(p);
    expect(make().earliest(NOW, [])).toBeNull();
  });
});

describe('Scheduler', () => {
  it('names a short path paced a little later over a long one free now, when it still arrives first', () => {
    const fast = path(0, 20);
    const slow = path(1, 100);
    busyUntil(fast, NOW + 30);
    // Fast arrives at about NOW + 40, slow at NOW + 50.
    expect(new Scheduler().earliest(NOW, [fast, slow])).toBe(fast);
    busyUntil(fast, NOW + 45);
    expect(new Scheduler().earliest(NOW, [fast, slow])).toBe(slow);
  });

  it('waits for the fast path rather than send on a slow one while little is waiting', () => {
    const fast = path(0, 20);
    const slow = path(1, 100);
    busyUntil(fast, NOW + 5);
    expect(new Scheduler().fallback(NOW, [fast, slow], fast, noBacklog)).toBeNull();
  });

  it('adds the slow path when the backlog would keep the fast one busy longer than the slow one takes', () => {
    const fast = path(0, 20);
    const slow = path(1, 100);
    busyUntil(fast, NOW + 5);
    const arrivalGap = NOW + 50 - (fast.pacer.releaseTime() + 10);
    let asked = 0;
    const backlog = (atLeast: number) => {
      asked = atLeast;
      return atLeast;
    };
    const s = new Scheduler();
    expect(s.fallback(NOW, [fast, slow], fast, backlog)).toBe(slow);
    // It asked for what the fast path sends during the slow path's extra delay.
    expect(asked).toBeCloseTo(arrivalGap * fast.cc.pacingRate, 6);
    expect(s.fallback(NOW, [fast, slow], fast, (atLeast) => atLeast - 1)).toBeNull();
  });

  it('offers no fallback that is itself paced, or that would arrive first anyway', () => {
    const fast = path(0, 20);
    const slow = path(1, 100);
    busyUntil(fast, NOW + 5);
    busyUntil(slow, NOW + 1);
    expect(new Scheduler().fallback(NOW, [fast, slow], fast, bigBacklog)).toBeNull();
    const other = path(2, 20);
    expect(new Scheduler().fallback(NOW, [fast, other], fast, noBacklog), 'arrives before the busy one: no backlog needed').toBe(other);
  });
});
