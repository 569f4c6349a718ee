/**
 * The workload endpoints as the bench runs them (separate processes), connected directly over
 * loopback: bulk both ways, the constant-bit-rate stream's framing and timing both ways, a stream
 * and a download at once, and the time cap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointProcess } from '../../bench/endpointProcess.ts';
import { cbrChunks, monotonicMs } from '../../bench/workload.ts';

let service: EndpointProcess;
let viewer: EndpointProcess;
let target: { host: string; port: number };

beforeAll(async () => {
  const [s, v] = await Promise.all([EndpointProcess.start({ listen: '127.0.0.1:0' }), EndpointProcess.start({})]);
  service = s.endpoint;
  viewer = v.endpoint;
  target = { host: '127.0.0.1', port: s.port! };
});

afterAll(async () => {
  await Promise.all([service?.close(), viewer?.close()]);
});

describe('workload endpoints', () => {
  it('moves a bulk transfer down (service to viewer) and up, the receiver reporting it', async () => {
    viewer.send({ op: 'connect', id: 'down', target, spec: { kind: 'bulk', direction: 'down', bytes: 3_000_000 } });
    const startedAt = await viewer.started('down', 5000);
    const down = await viewer.done('down', 10_000);
    expect(down).toMatchObject({ bytes: 3_000_000, complete: true, error: null });
    expect(down!.lastByteAt!).toBeGreaterThan(startedAt);

    viewer.send({ op: 'connect', id: 'up', target, spec: { kind: 'bulk', direction: 'up', bytes: 1_000_001 } });
    expect(await service.done('up', 10_000)).toMatchObject({ bytes: 1_000_001, complete: true, error: null });
  });

  for (const direction of ['down', 'up'] as const) {
    it(`streams constant-bit-rate chunks ${direction === 'down' ? 'service to viewer' : 'viewer to service'} in order, the receiver timing each against its send stamp`, async () => {
      const spec = { kind: 'cbr', direction, rateMbps: 20, chunkBytes: 16384, durationMs: 600 } as const;
      const id = `cbr-${direction}`;
      const [receiver, sender] = direction === 'down' ? [viewer, service] : [service, viewer];
      viewer.send({ op: 'connect', id, target, spec });
      const startedAt = await viewer.started(id, 5000);
      const r = await receiver.done(id, 10_000);
      const n = cbrChunks(spec);
      expect(n).toBe(92);
      expect(r).toMatchObject({ bytes: n * 16384, complete: true, error: null });
      expect(r!.delays).toHaveLength(n);
      for (const d of r!.delays!) {
        expect(d).not.toBeNull();
        expect(d!).toBeGreaterThanOrEqual(0);
        expect(d!).toBeLessThan(100); // loopback, no emulated link: only scheduling noise
      }
      // Paced at the rate, not sent in one burst: the last chunk lands about 600 ms in.
      expect(r!.lastByteAt! - startedAt).toBeGreaterThan(550);
      // The sending side has nothing to report.
      expect(await sender.done(id, 200)).toBeNull();
    });
  }

  it('carries a stream and a download at once, each on its own connection', async () => {
    const spec = { kind: 'cbr', direction: 'down', rateMbps: 20, chunkBytes: 16384, durationMs: 400 } as const;
    viewer.send({ op: 'connect', id: 'live', target, spec });
    viewer.send({ op: 'connect', id: 'live/alongside', target, spec: { kind: 'bulk', direction: 'down', bytes: 2 ** 40 } });
    await viewer.started('live', 5000);
    await viewer.started('live/alongside', 5000);
    const live = await viewer.done('live', 10_000);
    expect(live).toMatchObject({ bytes: cbrChunks(spec) * 16384, complete: true, error: null });
    expect(live!.delays!.every((d) => d !== null && d >= 0)).toBe(true);
    // The download is still going: stopped, it reports what it moved, with no error.
    expect(await viewer.done('live/alongside', 0)).toBeNull();
    viewer.send({ op: 'stop', id: 'live/alongside' });
    service.send({ op: 'stop', id: 'live/alongside' });
    const bulk = await viewer.done('live/alongside', 5000);
    expect(bulk).toMatchObject({ complete: false, error: null });
    expect(bulk!.bytes).toBeGreaterThan(1_000_000);
  });

  it('stops a transfer at the time cap and reports what arrived', async () => {
    viewer.send({ op: 'connect', id: 'capped', target, spec: { kind: 'bulk', direction: 'up', bytes: 50e9 } });
    await viewer.started('capped', 5000);
    expect(await service.done('capped', 300)).toBeNull();
    const stoppedAt = monotonicMs();
    viewer.send({ op: 'stop', id: 'capped' });
    service.send({ op: 'stop', id: 'capped' });
    const r = await service.done('capped', 5000);
    expect(r).toMatchObject({ complete: false, error: null });
    expect(r!.bytes).toBeGreaterThan(0);
    expect(r!.lastByteAt!).toBeLessThanOrEqual(stoppedAt + 50);
  });
});
