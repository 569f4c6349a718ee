/** Runs `bin/bering` as a child process, as a user would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beringNodeArgs } from '../../src/lab/beringBin.ts';

export { beringNodeArgs } from '../../src/lab/beringBin.ts';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bering args...` to completion. One that is still running after `timeoutMs` is killed,
 * and what it printed until then comes back with the reason in `stderr`, so that a hang fails
 * with its own output instead of a bare test timeout.
 */
export function run(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 45_000): Promise<RunResult> {
  const child = spawn(process.execPath, beringNodeArgs(args), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => {
    stderr += `\n[test] bering ${args.join(' ')} still running after ${timeoutMs} ms: killed\n`;
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((ok) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    }),
  );
}

/** A long-running `bering` (a relay) whose stderr log lines are collected as parsed JSON. */
export class BeringProcess {
  readonly logs: Array<Record<string, unknown>> = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private constructor(readonly child: ChildProcess) {
    let partial = '';
    child.stderr!.on('data', (b: Buffer) => {
      this.stderr += b.toString();
      partial += b.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: line });
        }
      }
    });
    this.exited = new Promise((ok) => child.on('exit', (code) => ok(code)));
  }

  static start(args: string[], env: NodeJS.ProcessEnv = {}): BeringProcess {
    return new BeringProcess(spawn(process.execPath, beringNodeArgs(args), { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] }));
  }

  /** Resolves with the first log line whose `msg` is `msg`. */
  async waitFor(msg: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find((l) => l.msg === msg);
      if (hit !== undefined) return hit;
      if (this.child.exitCode !== null) throw new Error(`bering exited (${this.child.exitCode}) before '${msg}':\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no '${msg}' log line in ${timeoutMs} ms:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Counts log lines whose `msg` is `msg`. */
  count(msg: string): number {
    return this.logs.filter((l) => l.msg === msg).length;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** A fresh temporary directory. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'bering-test-'));
}

/** Writes `content` to `name` in `dir` and returns the path. */
export function writeTemp(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
