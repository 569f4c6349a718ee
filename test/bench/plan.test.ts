import { describe, expect, it } from 'vitest';
import { secondPathShare } from '../../bench/run.ts';
import { FULL_PLAN, QUICK_PLAN, SCENARIOS } from '../../bench/scenarios.ts';
import { selectSystems, systemsFor, SYSTEMS } from '../../bench/systems.ts';

const ids = (list: Array<{ id: string }>) => list.map((s) => s.id);
const scenario = (name: string) => SCENARIOS.find((s) => s.name === name)!;

describe('bench plan', () => {
  it('--only picks a system and its variants by prefix', () => {
    expect(ids(selectSystems(['bering']))).toEqual(['bering', 'bering-nofec', 'bering-2path']);
    expect(ids(selectSystems(['tcp', 'kcptun']))).toEqual(['tcp-cubic', 'tcp-bbr', 'kcptun']);
    expect(ids(selectSystems(['tcp-bbr']))).toEqual(['tcp-bbr']);
    expect(selectSystems(['nope'])).toEqual([]);
    expect(selectSystems(undefined)).toBe(SYSTEMS);
  });

  it('runs the 2-path mode only on multipath scenarios, and single-path systems on path 0 where allowed', () => {
    expect(ids(systemsFor(scenario('loss3'), SYSTEMS))).toEqual(['bering', 'bering-nofec', 'tcp-cubic', 'tcp-bbr', 'kcptun']);
    expect(ids(systemsFor(scenario('failover'), SYSTEMS))).toEqual(['bering-2path']);
    expect(ids(systemsFor(scenario('asymmetric'), SYSTEMS))).toEqual(['bering', 'bering-nofec', 'bering-2path', 'tcp-cubic', 'tcp-bbr', 'kcptun']);
  });

  it('the quick plan covers clean, 3% and bursty loss; the full plan every scenario, both bulk directions', () => {
    expect(QUICK_PLAN.scenarios).toEqual(['clean', 'loss3', 'bursty']);
    expect(FULL_PLAN.scenarios).toEqual(SCENARIOS.map((s) => s.name));
    expect(FULL_PLAN.workloads.map((w) => w.name)).toEqual(['bulk-down', 'bulk-up', 'cbr-down', 'cbr-up', 'cbr+download']);
    expect(FULL_PLAN.workloads[0].spec).toMatchObject({ kind: 'bulk', bytes: 100 * 2 ** 20 });
  });

  it('the full plan streams 20 s each way and with a download alongside, failover included', () => {
    const byName = new Map(FULL_PLAN.workloads.map((w) => [w.name, w]));
    const stream = { kind: 'cbr', rateMbps: 60, chunkBytes: 16384, durationMs: 20_000 };
    expect(byName.get('cbr-down')).toMatchObject({ spec: { ...stream, direction: 'down' } });
    expect(byName.get('cbr-up')).toMatchObject({ spec: { ...stream, direction: 'up' } });
    expect(byName.get('cbr+download')).toMatchObject({ spec: { ...stream, direction: 'down' }, alongside: { kind: 'bulk', direction: 'down' } });
    // The download alongside never finishes first: more than the fastest scenario carries in the cap.
    const w = byName.get('cbr+download')!;
    const fastest = Math.max(...SCENARIOS.map((s) => s.paths.reduce((n, p) => n + p.bToA.rateMbps!, 0)));
    expect(w.alongside!.bytes).toBeGreaterThan(((fastest * 1e6) / 8) * (w.capMs / 1000));
    // Every workload runs in every scenario of the plan, so the failover scenario has all three streams.
    expect(FULL_PLAN.scenarios).toContain('failover');
    expect(scenario('failover').blackout).toBeDefined();
  });

  it('the quick plan stays under 3 minutes even if every run hits its time cap', () => {
    const runs = QUICK_PLAN.scenarios.reduce((n, name) => n + systemsFor(scenario(name), SYSTEMS.filter((s) => QUICK_PLAN.systems!.includes(s.id))).length, 0);
    const capSeconds = QUICK_PLAN.workloads.reduce((n, w) => n + w.capMs / 1000, 0);
    expect(runs).toBe(12);
    expect(runs * capSeconds).toBeLessThanOrEqual(180);
  });

  it('measures how much of a transfer crossed the second path', () => {
    const l = (delivered: number) => ({ sent: delivered, delivered, droppedLoss: 0, droppedQueue: 0, droppedBlackout: 0 });
    expect(secondPathShare([l(900), l(100)])).toBeCloseTo(0.1, 9);
    expect(secondPathShare([l(1000)])).toBe(0);
    expect(secondPathShare([l(0), l(0)])).toBe(0);
  });
});
