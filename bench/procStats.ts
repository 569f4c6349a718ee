/**
 * CPU time and peak memory of processes from /proc (Linux), for the relays' cost per gigabyte.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

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

/**
 * Datagrams the kernel dropped because these processes' UDP sockets were full (the `drops`
 * column of /proc/net/udp and udp6 for every socket the processes hold): packets lost outside
 * the emulated link. Counts only sockets alive now, so read it before and after a run.
 */
export function udpSocketDrops(pids: number[]): number {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m !== null) inodes.add(m[1]);
      } catch {
        // The descriptor closed while we looked.
      }
    }
  }
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      drops += parseUdpDrops(readFileSync(file, 'utf8'), inodes);
    } catch {
      // No IPv6 in this kernel.
    }
  }
  return drops;
}

/** Sum of the `drops` column of a /proc/net/udp table over the sockets with these inodes. */
export function parseUdpDrops(table: string, inodes: Set<string>): number {
  let drops = 0;
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 13 && inodes.has(f[9])) drops += Number(f[12]);
  }
  return drops;
}

/**
 * CPU seconds of each thread of a process so far, by thread id (/proc/PID/task/TID/stat); empty
 * once the process is gone. A thread that saturates a core bounds what the process carries
 * however many cores the machine has.
 */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      out.set(Number(tid), parseStatCpuTicks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')) / CLOCK_TICKS);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/** The most CPU seconds any one thread used between two {@link threadCpuSeconds} readings. */
export function busiestThreadSeconds(before: Map<number, number>, after: Map<number, number>): number {
  let most = 0;
  for (const [tid, seconds] of after) most = Math.max(most, seconds - (before.get(tid) ?? 0));
  return most;
}
