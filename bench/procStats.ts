/**
 * CPU time and peak memory of processes from /proc (Linux), for the relays' cost per gigabyte.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat times (USER_HZ; 100 on every Linux build we know). */
const CLOCK_TICKS = clockTicks();

function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc/PID/stat fields 14 and 15.
 * The command name (field 2) may hold spaces and parentheses, so fields are counted after the
 * last ')'. Null once the process is gone.
 */
export function cpuSeconds(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return parseStatCpuTicks(text) / CLOCK_TICKS;
}

/** utime + stime in clock ticks from the text of a /proc/PID/stat file. */
export function parseStatCpuTicks(stat: string): number {
  // After ") " come field 3 (state) onwards: utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Peak resident set size in bytes (VmHWM), or null once the process is gone. */
export function peakRssBytes(pid: number): number | null {
  try {
    return parseVmHwmBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/** VmHWM in bytes from the text of a /proc/PID/status file (null when absent). */
export function parseVmHwmBytes(status: string): number | null {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return m === null ? null : Number(m[1]) * 1024;
}
