/**
 * The entry relay's cap on TCP connections per client address (`--max-conns-per-ip`): without it
 * one address could hold every `--max-streams` slot with idle sockets and lock viewers out. A
 * refused connection is reset at once, counted for the metrics endpoint, and logged at most one
 * line per 10 s so that a flood does not also flood the log.
 */
import type { Logger } from 'pino';

/** The default cap: far above what one household's players open, far below `--max-streams`. */
export const DEFAULT_MAX_CONNS_PER_IP = 64;

const LOG_EVERY_MS = 10_000;

export class ConnectionsPerAddress {
  /** Connections refused since the relay started. */
  refused = 0;
  private readonly open = new Map<string, number>();
  private unlogged = 0;
  private lastLogAt = -Infinity;

  constructor(
    readonly maxPerAddress: number,
    private readonly log: Logger,
  ) {}

  /**
   * Call for each accepted connection: true admits it (call {@link release} when it closes),
   * false means reset it (it was counted, and logged if no line went out in the last 10 s).
   */
  acquire(address: string): boolean {
    const n = this.open.get(address) ?? 0;
    if (n < this.maxPerAddress) {
      this.open.set(address, n + 1);
      return true;
    }
    this.refused++;
    this.unlogged++;
    const now = performance.now();
    if (now - this.lastLogAt >= LOG_EVERY_MS) {
      this.log.warn({ tcp: address, maxConnsPerIp: this.maxPerAddress, refused: this.unlogged }, 'connection refused: the address holds --max-conns-per-ip connections already');
      this.lastLogAt = now;
      this.unlogged = 0;
    }
    return false;
  }

  /** A connection {@link acquire} admitted has closed. */
  release(address: string): void {
    const n = this.open.get(address) ?? 0;
    if (n <= 1) this.open.delete(address);
    else this.open.set(address, n - 1);
  }

  /** Addresses with connections open now. */
  get addresses(): number {
    return this.open.size;
  }
}
