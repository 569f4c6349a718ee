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
    expect(FULL_PLAN.workloads.map((w) => w.name)).toEqual(['bulk-down', 'bulk-up', 'cbr-down']);
    expect(FULL_PLAN.workloads[0].spec).toMatchObject({ kind: 'bulk', bytes: 100 * 2 ** 20 });
  });

  it('measures how much of a transfer crossed the second path', () => {
    const l = (delivered: number) => ({ sent: delivered, delivered, droppedLoss: 0, droppedQueue: 0, droppedBlackout: 0 });
    expect(secondPathShare([l(900), l(100)])).toBeCloseTo(0.1, 9);
    expect(secondPathShare([l(1000)])).toBe(0);
    expect(secondPathShare([l(0), l(0)])).toBe(0);
  });
});
