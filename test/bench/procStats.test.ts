import { describe, expect, it } from 'vitest';
import { cpuSeconds, parseStatCpuTicks, parseVmHwmBytes, peakRssBytes } from '../../bench/procStats.ts';

describe('/proc readings', () => {
  it('reads utime + stime after the command name, even one with spaces and parentheses', () => {
    const stat = '4242 (node (relay) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0 123 456 789';
    expect(parseStatCpuTicks(stat)).toBe(325);
  });

  it('reads VmHWM in bytes', () => {
    expect(parseVmHwmBytes('Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n')).toBe(51200 * 1024);
    expect(parseVmHwmBytes('Name:\tkthreadd\n')).toBeNull();
  });

  it('measures this process and gives null for one that is gone', () => {
    const start = cpuSeconds(process.pid)!;
    // Burn CPU until the 10 ms tick counter moves (or 2 s pass on a very busy machine).
    const until = performance.now() + 2000;
    while (cpuSeconds(process.pid) === start && performance.now() < until);
    expect(cpuSeconds(process.pid)!).toBeGreaterThan(start);
    expect(peakRssBytes(process.pid)!).toBeGreaterThan(10 * 2 ** 20);
    expect(cpuSeconds(2 ** 22 + 7)).toBeNull();
    expect(peakRssBytes(2 ** 22 + 7)).toBeNull();
  });
});
