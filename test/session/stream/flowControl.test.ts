import { describe, expect, it } from 'vitest';
import { sessionSendRoom, tuneRecvWindow } from '../../../src/session/stream/flowControl.ts';
import { Stream } from '../../../src/session/stream/stream.ts';

const MiB = 1 << 20;
const config = { sessionSendBufferBytes: 64 * MiB, streamSendBufferBytes: 16 * MiB };

function holding(bytes: number): Stream {
  const s = new Stream(0, true, 1 << 30, 4 * MiB);
  if (bytes > 0) s.send.write(new Uint8Array(bytes));
  return s;
}

describe('sessionSendRoom', () => {
  it('keeps the last quarter of the session buffer for streams holding under a quarter of their own', () => {
    const download = holding(4 * MiB);
    const live = holding(MiB);
    expect(sessionSendRoom(download, config, 40 * MiB)).toBe(8 * MiB);
    expect(sessionSendRoom(live, config, 40 * MiB)).toBe(24 * MiB);
    // Downloads stop at 48 MiB; a live stream still finds 16.
    expect(sessionSendRoom(download, config, 48 * MiB)).toBe(0);
    expect(sessionSendRoom(live, config, 48 * MiB)).toBe(16 * MiB);
  });
});

describe('tuneRecvWindow', () => {
  function reading(readBytes: number, epochAt: number): Stream {
    const s = holding(0);
    s.recvEpochAt = epochAt;
    s.recvEpochOffset = 0;
    s.recv.readOffset = readBytes;
    return s;
  }

  it('doubles a window whose reader, at any update, reads fast enough to take all of it within 8 round trips', () => {
    // 3 MiB of 4 read in 500 ms at a 100 ms RTT: faster than 8 * 0.75 * 100 = 600 ms.
    const s = reading(3 * MiB, 0);
    tuneRecvWindow(s, 500, 100, 24 * MiB);
    expect(s.recvWindow).toBe(8 * MiB);
    expect([s.recvEpochAt, s.recvEpochOffset]).toEqual([500, 3 * MiB]);
    // At the first quarter already: 1 MiB in 150 ms is within 8 * 0.25 * 100 = 200 ms.
    const early = reading(MiB, 0);
    tuneRecvWindow(early, 150, 100, 24 * MiB);
    expect([early.recvWindow, early.recvEpochAt, early.recvEpochOffset]).toEqual([8 * MiB, 150, MiB]);
  });

  it('keeps the window of a slower reader, judging it afresh after half a window, and never exceeds the largest', () => {
    const slow = reading(3 * MiB, 0);
    tuneRecvWindow(slow, 700, 100, 24 * MiB);
    expect([slow.recvWindow, slow.recvEpochAt, slow.recvEpochOffset]).toEqual([4 * MiB, 700, 3 * MiB]);
    // Under half read and slow so far: the epoch goes on, so a reader that speeds up soon counts.
    const quarter = reading(MiB, 0);
    tuneRecvWindow(quarter, 250, 100, 24 * MiB);
    expect([quarter.recvWindow, quarter.recvEpochAt, quarter.recvEpochOffset]).toEqual([4 * MiB, 0, 0]);
    const capped = reading(3 * MiB, 0);
    tuneRecvWindow(capped, 10, 100, 5 * MiB);
    expect(capped.recvWindow).toBe(5 * MiB);
  });
});
