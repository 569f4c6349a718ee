/**
 * The bench's run loop (`runBench`) end to end on a stand-in system: the two workload endpoints
 * connected directly over loopback, no relays, no link model. It checks what run.ts does with the
 * stream workloads: the stream each way, and the download alongside a stream, stopped when the
 * stream ends and its goodput recorded next to the stream's delays.
 */
import { describe, expect, it } from 'vitest';
import { EndpointProcess } from '../../bench/endpointProcess.ts';
import { runBench } from '../../bench/run.ts';
import type { Plan } from '../../bench/scenarios.ts';
import type { SystemDef } from '../../bench/systems.ts';
import { cbrChunks } from '../../bench/workload.ts';

const loopback: SystemDef = {
  id: 'loopback',
  label: 'loopback',
  settings: 'the endpoints connected directly',
  multipath: false,
  unavailable: async () => null,
  start: async () => {
    const [s, v] = await Promise.all([EndpointProcess.start({ listen: '127.0.0.1:0' }), EndpointProcess.start({})]);
    return {
      target: { host: '127.0.0.1', port: s.port! },
      viewer: v.endpoint,
      service: s.endpoint,
      relays: null,
      paths: [],
      deaths: () => null,
      emulatorPids: () => [],
      deviceDrops: async () => 0,
      close: async () => {
        await Promise.all([s.endpoint.close(), v.endpoint.close()]);
      },
    };
  },
};

const STREAM = { kind: 'cbr', rateMbps: 20, chunkBytes: 16384, durationMs: 600 } as const;

describe('bench run loop', () => {
  it('records the stream up, and a stream down with a download alongside stopped when the stream ends', async () => {
    const plan: Plan = {
      mode: 'quick',
      scenarios: ['clean'],
      workloads: [
        { name: 'cbr+download', spec: { ...STREAM, direction: 'down' }, capMs: 5000, alongside: { kind: 'bulk', direction: 'down', bytes: 2 ** 40 } },
        { name: 'cbr-up', spec: { ...STREAM, direction: 'up' }, capMs: 5000 },
      ],
    };
    const results = await runBench(plan, [loopback], {}, '/nonexistent');
    const [loaded, up] = results.runs;
    const chunks = cbrChunks(STREAM);

    expect(loaded).toMatchObject({ workload: 'cbr+download', status: 'ok', complete: true, bytes: chunks * 16384 });
    expect(loaded.cbr).toMatchObject({ chunks, delivered: chunks });
    expect(loaded.cbr!.max).not.toBeNull();
    // The download ran over the stream's time (about 0.6 s) and no longer: it was stopped then.
    expect(loaded.alongside!.bytes).toBeGreaterThan(1_000_000);
    expect(loaded.alongside!.goodputMbps).toBeGreaterThan(0);
    expect(loaded.alongside!.seconds).toBeGreaterThan(0.5);
    expect(loaded.alongside!.seconds).toBeLessThan(loaded.seconds! + 1);

    expect(up).toMatchObject({ workload: 'cbr-up', status: 'ok', complete: true, bytes: chunks * 16384, alongside: null });
    expect(up.cbr).toMatchObject({ chunks, delivered: chunks, stalls: 0 });
  }, 30_000);
});
