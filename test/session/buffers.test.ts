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

it('RecvBuffer copies tiny pieces out of their datagrams, one copy per KiB of a run, and charges what it holds', () => {
  const datagram = new Uint8Array(1300);
  for (let i = 0; i < datagram.length; i++) datagram[i] = i & 0xff;
  const buf = new RecvBuffer();
  // 5,000 one-byte frames in order, each a view of a whole datagram, nobody reading.
  for (let i = 0; i < 5000; i++) buf.insert(i, datagram.subarray(i % 1300, (i % 1300) + 1), false);
  expect(buf.pieceCount).toBe(5);
  expect(buf.held).toBeLessThan(5000 + 5 * 300);
  // A full-size piece is kept as a view and charged its whole datagram.
  buf.insert(5000, datagram.subarray(10, 1290), false);
  expect(buf.pieceCount).toBe(6);
  expect(buf.held).toBeGreaterThanOrEqual(5000 + 1300);
  const out: number[] = [];
  for (let r = buf.read(333); r !== null && r !== 'fin'; r = buf.read(333)) out.push(...r);
  expect(out).toHaveLength(6280);
  expect(out.slice(0, 5000).every((b, i) => b === (i % 1300) % 256)).toBe(true);
  expect(Uint8Array.from(out.slice(5000))).toEqual(datagram.subarray(10, 1290));
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
