/**
 * Child processes of the bench (relays, kcptun, socat, workload endpoints): started so that they
 * cannot outlive the bench, and stopped by their own pid.
 *
 * Each child is exec'd through `setpriv --pdeathsig KILL` when util-linux has it, so the kernel
 * kills it the moment the bench dies, even by SIGKILL: no socat left holding a TUN device, no
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

/** Starts `command args...` as a child that dies with the bench. */
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

/** Kills every child still running (on SIGINT/SIGTERM of the bench). */
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
