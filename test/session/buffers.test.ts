import { expect, it } from 'vitest';
import { SeededRng } from '../../src/base/rng.ts';
import { RecvBuffer } from '../../src/session/stream/recvBuffer.ts';
import { SendBuffer } from '../../src/session/stream/sendBuffer.ts';

it('RecvBuffer delivers every byte exactly once in order from overlapping, duplicated, reordered frames', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const rng = new SeededRng(seed);
    const data = new Uint8Array(20_000);
    rng.fill(data);
    const frames: Array<[number, number]> = [];
    for (let i = 0; i < 300; i++) {
      const off = Math.floor(rng.next() * data.length);
      frames.push([off, Math.min(data.length, off + 1 + Math.floor(rng.next() * 1500))]);
    }
    for (let off = 0; off < data.length; off += 1000) frames.push([off, Math.min(data.length, off + 1000)]);
    frames.sort(() => rng.next() - 0.5);
    const buf = new RecvBuffer();
    const out: number[] = [];
    let fins = 0;
    for (const [s, e] of frames) {
      expect(buf.insert(s, data.subarray(s, e), e === data.length)).toBeGreaterThanOrEqual(0);
      for (let r = buf.read(700); r !== null; r = buf.read(700)) {
        if (r === 'fin') fins++;
        else out.push(...r);
      }
    }
    expect(out.length, `seed ${seed}`).toBe(data.length);
    expect(Uint8Array.from(out)).toEqual(data);
    expect(fins).toBe(1);
    expect(buf.read(10)).toBeNull();
  }
});

it('RecvBuffer copies what arrives (the datagram is free again at once), joins in-order bytes, and charges what it keeps alive', () => {
  const datagram = new Uint8Array(1300);
  for (let i = 0; i < datagram.length; i++) datagram[i] = i & 0xff;
  const buf = new RecvBuffer();
  // 5,000 one-byte frames in order, each a view of the same datagram, nobody reading: a few
  // pieces, one per block, and the blocks are all it is charged beyond tracking.
  for (let i = 0; i < 5000; i++) buf.insert(i, datagram.subarray(i % 1300, (i % 1300) + 1), false);
  expect(buf.pieceCount).toBeLessThanOrEqual(4);
  expect(buf.held).toBeGreaterThanOrEqual(5000);
  expect(buf.held).toBeLessThan(3 * 5000 + 4 * 300);
  // Full-size frames; then the datagram is overwritten, as a socket's arena is by the next read.
  buf.insert(5000, datagram.subarray(10, 1290), false);
  const kept = Uint8Array.from(datagram.subarray(10, 1290));
  datagram.fill(0xee);
  const out: number[] = [];
  for (let r = buf.read(333); r !== null && r !== 'fin'; r = buf.read(333)) out.push(...r);
  expect(out).toHaveLength(6280);
  expect(out.slice(0, 5000).every((b, i) => b === (i % 1300) % 256)).toBe(true);
  expect(Uint8Array.from(out.slice(5000))).toEqual(kept);
  // Read dry, it holds nothing.
  expect(buf.held).toBe(0);
  expect(buf.pieceCount).toBe(0);
});

it('RecvBuffer charges a block whole while any piece of it waits, and frees it with its last piece', () => {
  const buf = new RecvBuffer();
  const frame = new Uint8Array(1000).fill(7);
  // A hole at 0: pieces beyond it wait, spread over blocks that fill and grow.
  for (let i = 1; i <= 40; i++) buf.insert(i * 1000, frame, false);
  expect(buf.pieceCount).toBeLessThanOrEqual(6);
  const waiting = buf.held;
  expect(waiting).toBeGreaterThanOrEqual(40_000);
  expect(waiting).toBeLessThan(2 * 40_000 + 6 * 300);
  // One-byte frames, each after a gap: one piece each, charged its tracking beyond the bytes.
  for (let i = 0; i < 100; i++) buf.insert(100_000 + 2 * i, frame.subarray(0, 1), false);
  expect(buf.pieceCount).toBeGreaterThanOrEqual(100);
  expect(buf.held - waiting).toBeGreaterThanOrEqual(100 * 200);
  // The hole filled and everything read: nothing is held.
  buf.insert(0, frame, false);
  let read = 0;
  for (let r = buf.read(Infinity); r !== null && r !== 'fin'; r = buf.read(Infinity)) read += r.length;
  expect(read).toBe(41_000);
  // The rest of the gaps filled: every byte up to the last one-byte frame is read.
  for (let at = 41_000; at < 100_200; at += 1000) buf.insert(at, frame.subarray(0, Math.min(1000, 100_199 - at)), false);
  for (let r = buf.read(Infinity); r !== null && r !== 'fin'; r = buf.read(Infinity)) read += r.length;
  expect(read).toBe(100_199);
  expect(buf.held).toBe(0);
  expect(buf.pieceCount).toBe(0);
});

it('RecvBuffer rejects a frame that contradicts the final size', () => {
  const buf = new RecvBuffer();
  expect(buf.insert(0, new Uint8Array(10), true)).toBe(10);
  expect(buf.insert(5, new Uint8Array(10), false)).toBe(-1);
  expect(buf.insert(0, new Uint8Array(12), true)).toBe(-1);
});

it('SendBuffer re-sends exactly the lost bytes not acknowledged since, and frees what is acknowledged', () => {
  const send = new SendBuffer();
  const chunks = [new Uint8Array(100).fill(1), new Uint8Array(100).fill(2), new Uint8Array(100).fill(3)];
  for (const c of chunks) send.write(c);
  send.nextOffset = 300;
  send.onAcked(0, 50, false);
  send.onAcked(150, 100, false);
  expect(send.buffered).toBe(150);
  send.onLost(0, 300, false);
  // Only the unacknowledged holes come back: [50, 150) and [250, 300).
  expect(send.lost.rangeCount).toBe(2);
  expect([send.lost.startAt(0), send.lost.endAt(0), send.lost.startAt(1), send.lost.endAt(1)]).toEqual([50, 150, 250, 300]);
  const out = new Uint8Array(100);
  send.copyOut(50, 100, out, 0);
  expect(out.subarray(0, 50).every((b) => b === 1)).toBe(true);
  expect(out.subarray(50).every((b) => b === 2)).toBe(true);
  send.onAcked(50, 250, false);
  expect(send.buffered).toBe(0);
  expect(send.ackedPrefix).toBe(300);
  expect(send.lost.isEmpty).toBe(true);
});
