/**
 * The relay-wide cap on live streams (`--max-streams`): each new stream, a viewer's connection
 * at the entry relay or a stream the peer opens at the exit relay, is admitted only while the
 * relay carries fewer. A refused one is reset at once (the viewer sees the connection reset, not
 * a hang), counted for the metrics endpoint, and logged, at most one line per 10 s so that an
 * overload does not also flood the log.
 */
import type { Logger } from 'pino';

/** The default cap: the tunnel core's own default limit of streams per session. */
export const DEFAULT_MAX_STREAMS = 1024;

const LOG_EVERY_MS = 10_000;

export class StreamAdmission {
  /** Streams refused since the relay started. */
  refused = 0;
  private unlogged = 0;
  private lastLogAt = -Infinity;

  /** `live` counts the streams the relay carries now (every role's bridges). */
  constructor(
    readonly maxStreams: number,
    private readonly live: () => number,
    private readonly log: Logger,
  ) {}

  /** Whether one more stream fits; does not count anything. */
  get hasRoom(): boolean {
    return this.live() < this.maxStreams;
  }

  /**
   * Call when a new stream would start: false means refuse it (it was counted and, if no line
   * went out in the last 10 s, logged with `context` and the refusals since the last line).
   */
  admit(context: Record<string, unknown>): boolean {
    if (this.hasRoom) return true;
    this.refused++;
    this.unlogged++;
    const now = performance.now();
    if (now - this.lastLogAt >= LOG_EVERY_MS) {
      this.log.warn({ ...context, maxStreams: this.maxStreams, refused: this.unlogged }, 'stream refused: the relay carries --max-streams streams already');
      this.lastLogAt = now;
      this.unlogged = 0;
    }
    return false;
  }
}
