/** Re-dial delays: the first retry after `initialMs`, doubling up to `maxMs`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** The default re-dial schedule: 1 s, 2 s, 4 s, 8 s, then every 10 s. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 10_000 };

/** The wait before the next try after `failures` failed ones in a row. */
export function backoffDelay(backoff: Backoff, failures: number): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** failures);
}
