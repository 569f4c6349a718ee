import type { Millis } from '../../base/time.ts';
import { RecvBuffer } from './recvBuffer.ts';
import { SendBuffer } from './sendBuffer.ts';

/** A stream with less than this unsent is keeping up with its source: live traffic. */
const LIVE_BACKLOG_BYTES = 64 * 1024;
/** How long a backlog must last before an 'auto' stream counts as bulk (see {@link Stream.isLive}). */
const BULK_AFTER_BACKLOGGED_MS = 500;
/**
 * How long a stream must be live ({@link Stream.isLive}), without a break, to keep its tier when it
 * falls behind: longer than a backlog may last and still count as live, so a download never is.
 */
const PROVEN_LIVE_MS = 1000;
/** How long after it was last live a stream proven live keeps its tier while refused room (see {@link Stream.isSourcePaced}). */
const CATCH_UP_MS = 4000;

/** What a stream's data prefers: more FEC and no waiting ('latency'), or fewer repair bytes ('throughput'). */
export type StreamPriority = 'auto' | 'latency' | 'throughput';

/**
 * One bidirectional stream: a TCP connection on the far side. Holds both halves and the
 * per-stream flow-control figures (RFC 9000 §4.1): what the peer lets us send, what we let it
 * send.
 */
export class Stream {
  readonly send = new SendBuffer();
  readonly recv = new RecvBuffer();
  /** Highest offset + 1 the peer allows us to send. */
  peerMaxData: number;
  /** Highest offset + 1 we allowed the peer, as last advertised. */
  localMaxData: number;
  /** The peer announced this stream (StreamOpen arrived), or we opened it. */
  announced: boolean;
  service = '';
  /** Reset by either side: both halves are dead; only the final-size exchange remains. */
  resetCode = -1;
  resetByPeer = false;
  /** Our RESET_STREAM was acknowledged. */
  resetAcked = false;
  /** The peer's final size is known (its FIN or its RESET_STREAM arrived). */
  peerFinalKnown = false;
  /** The application wanted to write more than the buffer took; tell it when space frees. */
  writeBlocked = false;
  /** A 'streamReadable' event is outstanding; no need to raise another. */
  readableSignalled = false;
  openAcked = false;
  /** 'auto': live while the stream keeps up with its source ({@link isLive}). */
  priority: StreamPriority = 'auto';
  /** Since when an 'auto' stream's unsent backlog has stayed large (Infinity: it keeps up). */
  backloggedSince = Infinity;
  /** Since when the stream has been live ({@link isLive}) without a break, as last seen sending (NaN: it is not). */
  private liveSince = NaN;
  /** When the stream was last seen live. */
  private lastLiveAt = -Infinity;
  /** It was live for {@link PROVEN_LIVE_MS} and has not stopped being so for {@link CATCH_UP_MS} since. */
  private provenLive = false;
  /** The receive window we keep ahead of the reader: grows while it keeps up (see `Streams.read`). */
  recvWindow: number;
  /** When the current window-tuning epoch began (NaN: at the first read), and the read offset it counts from. */
  recvEpochAt: Millis = NaN;
  recvEpochOffset = 0;

  constructor(
    readonly id: number,
    readonly isLocal: boolean,
    peerWindow: number,
    localWindow: number,
  ) {
    this.peerMaxData = peerWindow;
    this.localMaxData = localWindow;
    this.recvWindow = localWindow;
    this.announced = isLocal;
  }

  /**
   * Whether the stream's source paces it (live video, a shell) rather than the tunnel (a
   * download, whose writer was refused room and waits for more): such streams are sent before
   * the others. A stream proven live (it kept up with its source for a second) that falls
   * behind keeps this while refused, for up to {@link CATCH_UP_MS}, so it catches up at the
   * path's full rate: a path failing over leaves a live stream a round trip or more behind, more
   * than the 1 MiB a writer may keep unsent, and a refused stream sharing round-robin with a
   * download beside it never caught up (a 70 Mbit/s stream 2.3 s late 5 s after the failover).
   */
  get isSourcePaced(): boolean {
    return this.priority === 'latency' || (this.priority === 'auto' && (!this.writeBlocked || this.provenLive));
  }

  /** Notes, as the stream's new data is sent at `now`, whether it keeps up with its source ({@link isLive}). */
  noteSending(now: Millis): void {
    if (this.isLive(now)) {
      if (Number.isNaN(this.liveSince)) this.liveSince = now;
      this.lastLiveAt = now;
      if (now - this.liveSince >= PROVEN_LIVE_MS) this.provenLive = true;
      return;
    }
    this.liveSince = NaN;
    if (now - this.lastLiveAt >= CATCH_UP_MS) this.provenLive = false;
  }

  /** More is written and waiting to be sent than a live stream keeps unsent. */
  get isBacklogged(): boolean {
    return this.send.unsent >= LIVE_BACKLOG_BYTES;
  }

  /**
   * Whether the stream keeps up with its source (live video) rather than staying backlogged (a
   * download): their packets get the FEC latency lane. A live stream's backlog spikes for a few
   * milliseconds whenever the relay reads several chunks from TCP at once, so only a backlog that
   * lasts {@link BULK_AFTER_BACKLOGGED_MS} makes an 'auto' stream bulk; a real bulk sender stays
   * backlogged for good.
   */
  isLive(now: Millis): boolean {
    if (this.priority !== 'auto') return this.priority === 'latency';
    if (!this.isBacklogged) {
      this.backloggedSince = Infinity;
      return true;
    }
    if (this.backloggedSince === Infinity) this.backloggedSince = now;
    return now - this.backloggedSince < BULK_AFTER_BACKLOGGED_MS;
  }


  get isReset(): boolean {
    return this.resetCode >= 0;
  }

  /** Both directions have ended for good; the stream's state can be freed. */
  get isFinished(): boolean {
    if (this.isReset) return this.resetAcked && this.peerFinalKnown;
    return this.send.allAcked && this.recv.finDelivered && (!this.isLocal || this.openAcked);
  }

  /** New bytes the flow-control window lets us send now. */
  get sendCredit(): number {
    return Math.max(0, this.peerMaxData - this.send.nextOffset);
  }
}
