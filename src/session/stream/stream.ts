import { RecvBuffer } from './recvBuffer.ts';
import { SendBuffer } from './sendBuffer.ts';

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
  /** FEC lane choice: 'auto' picks latency while the stream keeps up with its source. */
  priority: StreamPriority = 'auto';
  /** Since when an 'auto' stream's unsent backlog has stayed large (Infinity: it keeps up). */
  backloggedSince = Infinity;

  constructor(
    readonly id: number,
    readonly isLocal: boolean,
    peerWindow: number,
    localWindow: number,
  ) {
    this.peerMaxData = peerWindow;
    this.localMaxData = localWindow;
    this.announced = isLocal;
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
