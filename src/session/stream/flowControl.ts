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
 * Receive-window auto-tuning, as quic-go's: a stream starts with a small window and doubles it
 * (up to `maxWindow`) whenever its reader took more than half of it within
 * {@link WINDOW_ROUND_TRIPS} round trips times the fraction read, so the window tracks what the
 * stream really carries. Call when a window update is due. Why: every byte a stream's window
 * admits may sit unread in the session window, and a paused player reads nothing. With every
 * stream at the full 24 MiB, three paused downloads held the whole 64 MiB session window and a
 * live stream beside them froze for good.
 */
export function tuneRecvWindow(stream: Stream, now: Millis, rttMs: Millis, maxWindow: number): void {
  const readInEpoch = stream.recv.readOffset - stream.recvEpochOffset;
  if (readInEpoch <= stream.recvWindow / 2) return;
  const fraction = readInEpoch / stream.recvWindow;
  if (now - stream.recvEpochAt < WINDOW_ROUND_TRIPS * fraction * rttMs) stream.recvWindow = Math.min(2 * stream.recvWindow, maxWindow);
  stream.recvEpochAt = now;
  stream.recvEpochOffset = stream.recv.readOffset;
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
