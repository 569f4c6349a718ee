/**
 * Helper processes of the bench and the demo (relays, kcptun, socat, workload endpoints): started
 * so that they cannot outlive their parent, and stopped by their own pid.
 *
 * Each child is exec'd through `setpriv --pdeathsig KILL` when util-linux has it, so the kernel
 * kills it the moment the parent dies, even by SIGKILL: no socat left holding a TUN device, no
 * relay left bound to a port. Children in a network namespace go through `ip netns exec`, which
 * execs in place, so the pid we hold is the program's own (its /proc CPU and memory are real).
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';

const HAS_SETPRIV = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
const live = new Set<ChildProcess>();

export interface ChildOptions {
  /** Run inside this network namespace (needs root). */
  netns?: string;
  env?: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
}

/** Starts `command args...` as a child that dies with this process. */
export function spawnChild(command: string, args: string[], opts: ChildOptions = {}): ChildProcess {
  let argv = [command, ...args];
  if (HAS_SETPRIV) argv = ['setpriv', '--pdeathsig', 'KILL', ...argv];
  if (opts.netns !== undefined) argv = ['ip', 'netns', 'exec', opts.netns, ...argv];
  const child = spawn(argv[0], argv.slice(1), { env: opts.env ?? process.env, stdio: opts.stdio ?? ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  child.on('exit', () => live.delete(child));
  // A failed exec shows up as an 'error' event; the caller sees it as an early exit.
  child.on('error', () => live.delete(child));
  return child;
}

/** Stops `child` by its pid: `signal`, then SIGKILL after `graceMs`. Resolves once it is gone. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Kills every child still running (on SIGINT/SIGTERM of the parent). */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** Collects a child's stderr, keeping the last `maxChars` for error messages. */
export function tailOf(child: ChildProcess, maxChars = 4000): () => string {
  let text = '';
  child.stderr?.on('data', (b: Buffer) => {
    text = (text + b.toString()).slice(-maxChars);
  });
  return () => text;
}

/** Whether a process with this pid exists (one we may not signal counts: it is someone's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Helper processes, their stderr drained (a full pipe would block a relay that
 * logs) and kept for {@link Helpers.deaths}.
 */
export class Helpers {
  private readonly list: Array<{ name: string; child: ChildProcess; stderr: () => string }> = [];

  add(name: string, child: ChildProcess): ChildProcess {
    this.list.push({ name, child, stderr: tailOf(child) });
    return child;
  }

  get children(): ChildProcess[] {
    return this.list.map((h) => h.child);
  }

  get pids(): number[] {
    return this.list.flatMap((h) => (h.child.pid === undefined ? [] : [h.child.pid]));
  }

  /** Names the helpers that exited, with the end of their stderr; null while all run. */
  deaths(): string | null {
    const dead = this.list.filter((h) => h.child.exitCode !== null || h.child.signalCode !== null);
    if (dead.length === 0) return null;
    return dead.map((h) => `${h.name} exited (${h.child.exitCode ?? h.child.signalCode}): ${lastLines(h.stderr())}`).join('; ');
  }
}

/** The last three lines of a helper's output, for one-line error messages. */
export function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ') || '(no output)';
}
