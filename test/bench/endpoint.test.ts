/**
 * The workload endpoints as the bench runs them (separate processes), connected directly over
 * loopback: bulk both ways, the constant-bit-rate stream's framing and timing, and the time cap.
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

  it('streams constant-bit-rate chunks in order, each timed against its send stamp', async () => {
    const spec = { kind: 'cbr', direction: 'down', rateMbps: 20, chunkBytes: 16384, durationMs: 600 } as const;
    viewer.send({ op: 'connect', id: 'cbr', target, spec });
    const startedAt = await viewer.started('cbr', 5000);
    const r = await viewer.done('cbr', 10_000);
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
