/**
 * The progress line on stderr: run i of n, scenario, system, workload, time in this run, bytes
 * received so far and the bench's elapsed time. Rewritten in place on a terminal; otherwise (CI,
 * a log file) one line per run and one every 10 s while a run lasts.
 */
export class Progress {
  private done = 0;
  private label = '';
  private phaseStart = performance.now();
  private readonly benchStart = performance.now();
  private bytes: () => number = () => 0;
  private lastPrint = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly total: number) {
    this.timer = setInterval(() => this.render(false), 250);
    this.timer.unref();
  }

  /** A new phase of the current (scenario, system): setup, warm-up or a workload. */
  begin(scenario: string, system: string, phase: string, bytes: () => number = () => 0): void {
    this.label = `${scenario} · ${system} · ${phase}`;
    this.phaseStart = performance.now();
    this.bytes = bytes;
    this.render(true);
  }

  /** The current workload finished. */
  end(): void {
    this.done++;
  }

  /** `n` planned runs will not happen (system unavailable or failed). */
  skip(n: number): void {
    this.done += n;
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.tty) process.stderr.write('\r\x1b[K');
  }

  private render(force: boolean): void {
    const now = performance.now();
    if (!this.tty && !force && now - this.lastPrint < 10_000) return;
    this.lastPrint = now;
    const index = Math.min(this.done + 1, this.total);
    const width = String(this.total).length;
    const mib = this.bytes() / 2 ** 20;
    const line =
      `bench [${String(index).padStart(width)}/${this.total}] ${this.label} ` +
      `${((now - this.phaseStart) / 1000).toFixed(1)} s${mib > 0 ? ` · ${mib.toFixed(1)} MiB` : ''} · elapsed ${clock((now - this.benchStart) / 1000)}`;
    process.stderr.write(this.tty ? `\r\x1b[K${line}` : `${line}\n`);
  }
}

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
