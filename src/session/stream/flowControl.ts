import type { Millis } from '../../base/time.ts';
import type { SessionConfig } from '../config.ts';
import type { Stream } from './stream.ts';

/**
 * A stream's receive window grows until it holds about this many round trips of what its reader
 * takes (quic-go uses 4): a reader behind a loss waits for the repair or the retransmission, a
 * few round trips at 10% loss, and the window must cover that wait at full rate.
 */
const WINDOW_ROUND_TRIPS = 8;

/**
 * Receive-window auto-tuning, after quic-go's: a stream starts with a small window and doubles it
 * (up to `maxWindow`) whenever its reader, since the last doubling, read at a rate that would take
 * the whole window within {@link WINDOW_ROUND_TRIPS} round trips, so the window tracks what the
 * stream really carries. Call when a window update is due (a quarter of the window read). Why:
 * every byte a stream's window admits may sit unread in the session window, and a paused player
 * reads nothing. With every stream at the full 24 MiB, three paused downloads held the whole
 * 64 MiB session window and a live stream beside them froze for good.
 *
 * The rate is judged at every update, not only once half the window was read (quic-go's rule): a
 * download over two 100 Mbit/s paths at 180 ms needs ~6 MB in flight, and while its window waited
 * for half of it to be read before doubling, a loss that the repairs could not mend at once
 * stopped both paths for a round trip or more. A slow epoch ends after half a window, so a reader
 * that speeds up is judged on what it does now.
 */
export function tuneRecvWindow(stream: Stream, now: Millis, rttMs: Millis, maxWindow: number): void {
  const readInEpoch = stream.recv.readOffset - stream.recvEpochOffset;
  const fast = now - stream.recvEpochAt < (WINDOW_ROUND_TRIPS * readInEpoch * rttMs) / stream.recvWindow;
  if (fast) stream.recvWindow = Math.min(2 * stream.recvWindow, maxWindow);
  if (fast || readInEpoch > stream.recvWindow / 2) {
    stream.recvEpochAt = now;
    stream.recvEpochOffset = stream.recv.readOffset;
  }
}

/**
 * Room in the session's send buffer for `stream`, given `bufferedSend` held by all. Its last
 * quarter is kept for streams that hold under a quarter of their own buffer (a live stream holds
 * about a round trip of its rate): downloads keep their buffers full, and four of them filled all
 * 64 MiB, refusing a live stream beside them until they had drained.
 */
export function sessionSendRoom(stream: Stream, config: Pick<SessionConfig, 'sessionSendBufferBytes' | 'streamSendBufferBytes'>, bufferedSend: number): number {
  const total = config.sessionSendBufferBytes;
  const reserved = stream.send.buffered >= config.streamSendBufferBytes / 4 ? total / 4 : 0;
  return total - reserved - bufferedSend;
}
