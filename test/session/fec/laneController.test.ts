import { describe, expect, it } from 'vitest';
import { FecLaneController, PRIOR_MAX_OVERHEAD } from '../../../src/session/fec/laneController.ts';
import { LOSS_PRIOR } from '../../../src/session/fec/lossMeter.ts';
import { chooseFecParams, type FecLane, type FecParams } from '../../../src/session/fec/policy.ts';
import type { Path } from '../../../src/session/path.ts';
import { Stream } from '../../../src/session/stream/stream.ts';

/** What the controller reads of a path, as plain figures. */
function fakePath(o: { up?: boolean; loss: number; burst: number; settled?: boolean; pacing: number; bottleneck?: number; measured?: boolean }): Path {
  return {
    isUp: o.up ?? true,
    lossEstimate: { lossRate: o.loss, meanBurst: o.burst, settled: o.settled ?? true },
    cc: { pacingRate: o.pacing, bottleneckBandwidth: o.bottleneck ?? o.pacing, pathMeasured: o.measured ?? false },
  } as unknown as Path;
}

function setUp(paths: Path[]) {
  const set: Array<[FecLane, FecParams | null]> = [];
  const encoder = {
    setParams: (lane: FecLane, params: FecParams | null) => void set.push([lane, params]),
    params: () => null,
    assign: () => null,
  };
  const queue: Stream[] = [];
  const streams = { sourcePacedSent: 0, nextToSend: () => queue[0] };
  const lanes = new FecLaneController(encoder, { all: paths }, streams);
  return { lanes, set, queue, streams };
}

/** A stream with `backlog` bytes written and not yet sent. */
function streamWith(backlog: number): Stream {
  const s = new Stream(0, true, 1 << 30, 1 << 30);
  s.send.write(new Uint8Array(backlog));
  return s;
}

describe('FecLaneController', () => {
  it('puts a stream that keeps up with its source in the latency lane, and one backlogged for 500 ms in bulk', () => {
    const { lanes, queue } = setUp([]);
    expect(lanes.nextLane(0)).toBe('latency');
    const s = streamWith(1 << 20);
    queue.push(s);
    expect(lanes.nextLane(1000)).toBe('latency');
    expect(lanes.nextLane(1499)).toBe('latency');
    expect(lanes.nextLane(1500)).toBe('bulk');
    // Its backlog drains below 64 KiB: live again, and the 500 ms start over.
    s.send.nextOffset = s.send.written - 1000;
    expect(lanes.nextLane(1600)).toBe('latency');
    s.send.nextOffset = 0;
    expect(lanes.nextLane(1700)).toBe('latency');
    expect(lanes.nextLane(2200)).toBe('bulk');
  });

  it('follows an application priority over the backlog', () => {
    const { lanes, queue } = setUp([]);
    const s = streamWith(10);
    queue.push(s);
    s.priority = 'throughput';
    expect(lanes.nextLane(0)).toBe('bulk');
    s.priority = 'latency';
    s.send.write(new Uint8Array(1 << 20));
    expect(lanes.nextLane(10_000)).toBe('latency');
  });

  it('sizes both lanes from the paths in use, weighted by their pacing rates', () => {
    const { lanes, set } = setUp([
      fakePath({ loss: 0.01, burst: 2, pacing: 3000 }),
      fakePath({ loss: 0.05, burst: 6, pacing: 1000 }),
      fakePath({ up: false, loss: 0.5, burst: 50, pacing: 1000 }),
    ]);
    lanes.update(0);
    const model = { lossRate: (0.01 * 3 + 0.05) / 4, meanBurst: (2 * 3 + 6) / 4 };
    expect(set).toEqual([
      ['bulk', chooseFecParams(model, 'bulk')],
      ['latency', chooseFecParams(model, 'latency')],
    ]);
    expect(set[0][1]).not.toBeNull();
  });

  it('protects the latency lane at least as for the prior until the loss is measured, with at most a third more packets', () => {
    const { lanes, set } = setUp([fakePath({ loss: 0.001, burst: 1, pacing: 1000, settled: false })]);
    lanes.update(0);
    expect(set).toEqual([
      ['bulk', null],
      ['latency', chooseFecParams(LOSS_PRIOR, 'latency', 0.33)],
    ]);
    const prior = set[1][1]!;
    expect(prior.m / prior.k).toBeLessThanOrEqual(0.33);
    // As wide as the prior's runs need: a run of 4 costs each of the interleaved groups one.
    expect(prior.depth).toBeGreaterThanOrEqual(LOSS_PRIOR.meanBurst);
    expect(prior.m).toBeGreaterThan(chooseFecParams({ lossRate: 0.001, meanBurst: 1 }, 'latency')!.m);
  });

  it('leaves the lanes alone while no path is up', () => {
    const { lanes, set } = setUp([fakePath({ up: false, loss: 0.05, burst: 3, pacing: 1000 })]);
    lanes.update(0);
    expect(set).toEqual([]);
  });

  it('caps the latency lane to the room above the stream once every path up was measured, for as long as it is up', () => {
    const measured = fakePath({ loss: 0.05, burst: 3, pacing: 3000, bottleneck: 3000, measured: true });
    const { lanes, set, streams } = setUp([measured]);
    const latency = () => set.filter(([lane]) => lane === 'latency').at(-1)![1];
    lanes.update(0);
    // 2000 bytes/ms of live stream on 3000 bytes/ms of path: 0.95 * 3000 / 2000 - 1 repairs per packet.
    streams.sourcePacedSent = 400_000;
    lanes.update(200);
    const cap = (0.95 * 3000) / 2000 - 1;
    expect(latency()).toEqual(chooseFecParams({ lossRate: 0.05, meanBurst: 3 }, 'latency', cap));
    expect(latency()).not.toEqual(chooseFecParams({ lossRate: 0.05, meanBurst: 3 }, 'latency'));
    // Long after: app-limited samples never lower the estimate, so the room it measured still holds.
    streams.sourcePacedSent = 400_000 + 2000 * 60_000;
    lanes.update(60_200);
    expect(latency()).toEqual(chooseFecParams({ lossRate: 0.05, meanBurst: 3 }, 'latency', cap));
  });

  it("holds the latency lane to the prior's overhead while a path up has not been measured, or to the room its estimate shows if more", () => {
    // Counted, the two leave room for 0.95 * 2500 / 2000 - 1 = 19% repairs: the unmeasured one's
    // estimate is only a floor, so the prior's 33% stands.
    const measured = fakePath({ loss: 0.05, burst: 3, pacing: 2000, bottleneck: 2000, measured: true });
    const fresh = fakePath({ loss: 0.05, burst: 3, pacing: 2000, bottleneck: 500 });
    const { lanes, set, streams } = setUp([measured, fresh]);
    lanes.update(0);
    streams.sourcePacedSent = 400_000;
    lanes.update(200);
    const latency = () => set.filter(([lane]) => lane === 'latency').at(-1)![1];
    expect(latency()).toEqual(chooseFecParams({ lossRate: 0.05, meanBurst: 3 }, 'latency', PRIOR_MAX_OVERHEAD));
    expect(latency()).not.toEqual(chooseFecParams({ lossRate: 0.05, meanBurst: 3 }, 'latency'));
    // A floor well above the stream: the room it shows is the cap, which asks nothing of this loss.
    (fresh.cc as { bottleneckBandwidth: number }).bottleneckBandwidth = 20_000;
    lanes.update(400);
    const { k, m, depth } = chooseFecParams({ lossRate: 0.05, meanBurst: 3 }, 'latency')!;
    expect(latency()).toMatchObject({ k, m, depth });
  });
});
