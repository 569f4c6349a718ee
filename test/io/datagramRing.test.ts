import { describe, expect, it } from 'vitest';
import { DatagramRingReader, DatagramRingWriter, newDatagramRing } from '../../src/io/datagramRing.ts';

type Seen = { local: number; host: string; port: number; bytes: number[] };

function reader(memory: ReturnType<typeof newDatagramRing>) {
  const r = new DatagramRingReader(memory);
  const seen: Seen[] = [];
  const read = (max = 1_000_000): boolean => r.read((local, host, port, d) => seen.push({ local, host, port, bytes: [...d] }), max);
  return { seen, read };
}

describe('DatagramRing', () => {
  it('carries datagrams in order across the end of the ring, with their socket, host and port', () => {
    const memory = newDatagramRing(1024);
    const w = new DatagramRingWriter(memory, () => undefined);
    const { seen, read } = reader(memory);
    const sent: Seen[] = [];
    // 3,000 datagrams of odd sizes through 1 KiB: every offset and many wraps.
    for (let i = 0; i < 3000; i++) {
      const bytes = Array.from({ length: (i * 37) % 300 }, (_, j) => (i + j) & 0xff);
      const d = { local: i % 3, host: i % 2 === 0 ? '127.0.0.1' : '2001:db8::17', port: (i * 131) % 65536, bytes };
      expect(w.write(d.local, d.host, d.port, Uint8Array.from(bytes))).toBe(true);
      sent.push(d);
      w.publish();
      if (i % 2 === 1) read();
    }
    read();
    expect(seen).toEqual(sent);
    expect(w.dropped).toBe(0);
  });

  it('drops and counts what does not fit while the reader is behind, and takes more once it read', () => {
    const memory = newDatagramRing(1024);
    const w = new DatagramRingWriter(memory, () => undefined);
    const { seen, read } = reader(memory);
    let accepted = 0;
    for (let i = 0; i < 20; i++) if (w.write(0, 'h', 1, new Uint8Array(100).fill(i))) accepted++;
    // 107 bytes a record (6 of header, 1 of host): 9 fill 1 KiB.
    expect(accepted).toBe(9);
    expect(w.dropped).toBe(11);
    w.publish();
    read();
    expect(seen.map((s) => s.bytes[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(w.write(0, 'h', 1, new Uint8Array(100))).toBe(true);
  });

  it('wakes the reader only after it found the ring empty, once per sleep', () => {
    const memory = newDatagramRing(4096);
    let wakes = 0;
    const w = new DatagramRingWriter(memory, () => wakes++);
    const { seen, read } = reader(memory);
    w.write(0, 'h', 1, new Uint8Array([1]));
    w.publish();
    // Never read yet: not asleep, so no wake (the reader reads once as it starts).
    expect(wakes).toBe(0);
    expect(read()).toBe(true);
    w.write(0, 'h', 1, new Uint8Array([2]));
    w.publish();
    w.write(0, 'h', 1, new Uint8Array([3]));
    w.publish();
    expect(wakes).toBe(1);
    expect(read(1)).toBe(false);
    expect(read()).toBe(true);
    expect(seen.map((s) => s.bytes[0])).toEqual([1, 2, 3]);
    w.publish();
    expect(wakes).toBe(1);
  });
});
