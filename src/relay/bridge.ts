/**
 * One TCP socket joined to one tunnel stream, with backpressure both ways, half-close and reset.
 *
 * TCP -> stream: each `data` chunk goes to `streamWrite`; what the stream does not accept is kept
 * (one chunk at most) and the socket is paused until `streamWritable`, so a slow tunnel pauses the
 * TCP sender through the kernel's window.
 * Stream -> TCP: `streamRead` runs only while `socket.write` keeps returning true; once it returns
 * false reading stops until `drain`, so a slow TCP reader closes the stream's window and pauses the
 * far side. Memory per bridge is one chunk plus the socket's write buffer.
 *
 * FIN: TCP `end` -> `streamFinish`; a `fin` read -> `socket.end()`. Reset: a TCP error or a close
 * without both FINs -> `streamReset`; a peer reset -> `socket.resetAndDestroy()` (the TCP peer
 * sees RST).
 */
import type { Socket } from 'node:net';
import type { StreamId } from '../session/api.ts';
import type { CoreSession } from '../io/core.ts';
import { ResetCode } from '../session/resetCode.ts';

/** How a bridge ended, for the log line. */
export type BridgeOutcome =
  | 'finished'
  | 'connect failed'
  | 'tcp aborted'
  | 'reset by peer'
  | 'session closed'
  | 'shut down';

/** Called once when a bridge is over (socket closed and stream finished or reset). */
export type BridgeDone = (bridge: StreamBridge, outcome: BridgeOutcome) => void;

/** Largest read asked of the stream at once (a read yields at most one packet's data anyway). */
const READ_CHUNK = 64 * 1024;

/** Joins `socket` and stream `streamId` of `session` until both are done. */
export class StreamBridge {
  /** Bytes taken from TCP and accepted by the stream. */
  bytesFromTcp = 0;
  /** Bytes read from the stream and written to TCP. */
  bytesToTcp = 0;
  readonly openedAt = performance.now();

  /** TCP bytes the stream has not accepted yet; the socket is paused while this is set. */
  private pendingToStream: Uint8Array | null = null;
  private tcpEnded = false;
  private streamFinished = false;
  private finDelivered = false;
  private waitingDrain = false;
  private socketClosed = false;
  private streamDone = false;
  private outcome: BridgeOutcome | null = null;
  private reported = false;
  /** False while an outgoing connection is still being set up. */
  private tcpConnected: boolean;

  constructor(
    readonly session: CoreSession,
    readonly streamId: StreamId,
    readonly socket: Socket,
    /** Schedules a flush of the session's output (the transport's `wake`). */
    private readonly wake: () => void,
    private readonly done: BridgeDone,
  ) {
    this.tcpConnected = !socket.connecting;
    if (!this.tcpConnected) {
      socket.once('connect', () => {
        this.tcpConnected = true;
      });
    }
    // Interactive traffic (Plex's API calls, seeks) must not wait for Nagle.
    socket.setNoDelay(true);
    // A viewer that vanished behind a NAT would otherwise hold its stream forever.
    socket.setKeepAlive(true, 60_000);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** `streamReadable`: move what the stream has to TCP while TCP takes it. */
  onStreamReadable(): void {
    this.pump();
  }

  /** `streamWritable`: hand the held-back TCP bytes to the stream, then resume TCP. */
  onStreamWritable(): void {
    const pending = this.pendingToStream;
    if (pending === null || this.outcome !== null) return;
    const n = this.session.streamWrite(this.streamId, pending);
    this.bytesFromTcp += n;
    if (n < pending.length) {
      this.pendingToStream = pending.subarray(n);
    } else {
      this.pendingToStream = null;
      if (this.tcpEnded) this.finishStream();
      else this.socket.resume();
    }
    this.wake();
  }

  /** `streamReset` from the peer: abort the TCP side too. */
  onStreamReset(): void {
    this.streamDone = true;
    if (this.outcome === null) this.outcome = 'reset by peer';
    if (!this.socketClosed) this.socket.resetAndDestroy();
    this.maybeDone();
  }

  /** `streamClosed`: the stream's state is gone in the core. */
  onStreamClosed(): void {
    this.streamDone = true;
    this.maybeDone();
  }

  /** The session closed under the stream: the TCP side gets a reset. */
  onSessionClosed(): void {
    this.abort('session closed');
  }

  /** Aborts both sides (the stream with `ResetCode.SessionClosed`), when a drain ran out of time. */
  shutDown(): void {
    if (this.outcome === null && !this.session.isClosed) {
      this.session.streamReset(this.streamId, ResetCode.SessionClosed);
      this.wake();
    }
    this.abort('shut down');
  }

  private abort(outcome: BridgeOutcome): void {
    if (this.outcome === null) this.outcome = outcome;
    this.streamDone = true;
    if (!this.socketClosed) this.socket.resetAndDestroy();
    this.maybeDone();
  }

  private pump(): void {
    // Reads come a packet's worth at a time: cork so they leave as one writev, not one syscall each.
    this.socket.cork();
    while (!this.waitingDrain && !this.finDelivered && this.outcome === null && !this.socket.destroyed) {
      const r = this.session.streamRead(this.streamId, READ_CHUNK);
      if (r === null) break;
      if (r === 'fin') {
        this.finDelivered = true;
        this.socket.end();
        break;
      }
      this.bytesToTcp += r.length;
      if (!this.socket.write(r)) this.waitingDrain = true;
    }
    this.socket.uncork();
    // Reading freed window the peer should hear about.
    this.wake();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.outcome !== null) return;
    const n = this.session.streamWrite(this.streamId, chunk);
    this.bytesFromTcp += n;
    if (n < chunk.length) {
      this.pendingToStream = chunk.subarray(n);
      this.socket.pause();
    }
    this.wake();
  };

  private readonly onEnd = (): void => {
    this.tcpEnded = true;
    if (this.pendingToStream === null) this.finishStream();
  };

  private readonly onDrain = (): void => {
    this.waitingDrain = false;
    this.pump();
  };

  private readonly onError = (): void => {
    // 'close' follows with hadError; the reset happens there.
  };

  private readonly onClose = (): void => {
    this.socketClosed = true;
    // Both TCP directions ended: a clean close, even if TCP bytes held back for the stream (and
    // the stream's FIN) still have to go out; onStreamWritable finishes that, streamClosed ends it.
    const clean = this.tcpEnded && this.finDelivered && this.socket.writableFinished;
    if (!clean && this.outcome === null) {
      this.outcome = this.tcpConnected ? 'tcp aborted' : 'connect failed';
      if (!this.session.isClosed) {
        this.session.streamReset(this.streamId, this.tcpConnected ? ResetCode.Aborted : ResetCode.ConnectFailed);
        this.wake();
      }
      this.streamDone = true;
    }
    this.maybeDone();
  };

  private finishStream(): void {
    if (this.streamFinished || this.outcome !== null) return;
    this.streamFinished = true;
    this.session.streamFinish(this.streamId);
    this.wake();
  }

  private maybeDone(): void {
    if (this.reported || !this.socketClosed || !this.streamDone) return;
    this.reported = true;
    this.done(this, this.outcome ?? 'finished');
  }
}
