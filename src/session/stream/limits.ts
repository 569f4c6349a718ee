/**
 * Bounds on the state a peer holding the key can make us keep, checked before anything is
 * allocated. A violation is the peer's fault: the session closes with the reason.
 */
import { RangeSet } from '../rangeSet.ts';

/**
 * Stream ids the peer may open, cumulatively (in the manner of QUIC's MAX_STREAMS, RFC 9000
 * §4.6): the n-th stream of the peer's parity is allowed once fewer than `limit` of its streams
 * are unfinished, counting every lower id, used or skipped. Ids a frame skips over cost no
 * object: they are kept as ranges until a frame names them. The peer's own concurrency limit
 * may be above ours (we then refuse the extras with a reset), and it may count a stream closed
 * about a round trip before we do, so `limit` carries slack beyond our `maxStreams`.
 */
export class PeerStreamIds {
  /** Stream number (id >> 1) of the lowest id never named. */
  private next = 0;
  /** Numbers below `next` that no frame named yet. */
  private readonly skipped = new RangeSet();
  /** Peer streams whose state was freed. */
  private closed = 0;

  constructor(
    private readonly parity: number,
    private readonly limit: number,
  ) {}

  /**
   * Whether a frame naming `id` (not a live stream) opens a stream: 'new' (build it), 'old'
   * (ours, or one of the peer's that finished: ignore the frame) or 'over' (beyond the limit:
   * close the session). O(log skipped ranges).
   */
  admit(id: number): 'new' | 'old' | 'over' {
    if ((id & 1) !== this.parity) return 'old';
    const n = Math.floor(id / 2);
    if (n < this.next) {
      if (!this.skipped.has(n)) return 'old';
      this.skipped.remove(n, n + 1);
      return 'new';
    }
    if (n >= this.closed + this.limit) return 'over';
    if (n > this.next) this.skipped.add(this.next, n);
    this.next = n + 1;
    return 'new';
  }

  /** One of the peer's streams was freed: its number's credit returns. */
  onClosed(): void {
    this.closed++;
  }
}

/**
 * Memory a receive buffer is charged for tracking one held piece (Map entry, view, ranges), on
 * top of the blocks that hold the bytes (recvBuffer.ts).
 */
export const PIECE_OVERHEAD_BYTES = 200;

/**
 * Separate ranges of received data one stream may hold: one per KiB of its window. An honest
 * sender's gaps are its lost packets and, over paths of unequal delay, everything still on the
 * slower path: two 100 Mbit/s paths 50 ms apart at 3% loss leave over 2,000 (at most one gap per
 * two packets of window, ~9,700 in 24 MiB). The cap keeps each insert's array work bounded (the
 * range list is a sorted array, its splice a memmove of at most this many entries).
 */
export function maxRecvRanges(streamWindowBytes: number): number {
  return Math.ceil(streamWindowBytes / 1024);
}

/**
 * What all receive buffers of a session may be charged: half again its flow-control window. A
 * window full of full-size frames costs about 1.15 window; tiny frames cost far more per byte.
 */
export function sessionHeldLimit(sessionWindowBytes: number): number {
  return sessionWindowBytes * 1.5;
}

/**
 * Pieces a stream, and a whole session, may hold: one per 512 bytes of window (full-size frames
 * need one per ~1300). Each costs a Map entry, a view and, for a small one, its own copy.
 */
export function pieceLimit(windowBytes: number): number {
  return Math.ceil(windowBytes / 512);
}
