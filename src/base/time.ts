/**
 * Time in the sans-IO core: milliseconds as a plain float on a monotonic clock chosen by the
 * driver (the process monotonic clock in production, the virtual clock in the simulator). Fractions matter:
 * pacing at 100 Mbit/s spaces 1200-byte packets ~0.1 ms apart.
 */
export type Millis = number;

/** Wall-clock Unix time in milliseconds; only the handshake uses it, to bound replays. */
export type UnixMillis = number;
