import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, MAX_U48, MAX_VARINT, varintLength } from '../../src/wire/bytes.ts';
import { WireError } from '../../src/wire/errors.ts';
import { anyU53, bytes, int, seeded } from './seed.ts';

function wireCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return (e as WireError).code;
  }
  throw new Error('expected a WireError');
}

describe('varints (RFC 9000 §16)', () => {
  it('matches the RFC 9000 §A.1 examples', () => {
    const cases: Array<[string, number]> = [
      ['c2197c5eff14e88c', 151288809941952652],
      ['9d7f3e7d', 494878333],
      ['7bbd', 15293],
      ['25', 37],
      ['4025', 37],
    ];
    for (const [hex, v] of cases) {
      const buf = Buffer.from(hex, 'hex');
      if (v > MAX_VARINT) {
        expect(wireCode(() => new ByteReader(buf).varint())).toBe('bad-varint');
        continue;
      }
      const r = new ByteReader(buf);
      expect(r.varint()).toBe(v);
      expect(r.remaining).toBe(0);
    }
  });

  it('picks the shortest length at each boundary', () => {
    const cases: Array<[number, number]> = [
      [0, 1], [63, 1], [64, 2], [16383, 2], [16384, 4], [2 ** 30 - 1, 4], [2 ** 30, 8], [MAX_VARINT, 8],
    ];
    for (const [v, len] of cases) {
      expect(varintLength(v)).toBe(len);
      const w = new ByteWriter(new Uint8Array(8));
      w.varint(v);
      expect(w.pos).toBe(len);
      expect(new ByteReader(w.buf, 0, len).varint()).toBe(v);
    }
  });

  it('rejects values a varint cannot carry', () => {
    for (const v of [-1, 1.5, NaN, Infinity, MAX_VARINT + 1]) {
      expect(wireCode(() => varintLength(v))).toBe('bad-value');
      expect(wireCode(() => new ByteWriter(new Uint8Array(8)).varint(v))).toBe('bad-value');
    }
  });

  it('decodes 2^53-1 but not 2^53 from 8 bytes', () => {
    expect(new ByteReader(Buffer.from('c01fffffffffffff', 'hex')).varint()).toBe(MAX_VARINT);
    expect(wireCode(() => new ByteReader(Buffer.from('c020000000000000', 'hex')).varint())).toBe('bad-varint');
  });
});

describe('ByteReader / ByteWriter', () => {
  it(
    'round-trips random field sequences',
    seeded((rng) => {
      for (let round = 0; round < 200; round++) {
        const fields: Array<[string, number | Uint8Array]> = [];
        const buf = new Uint8Array(4096);
        const w = new ByteWriter(buf, 3);
        for (let i = 0; i < 40; i++) {
          const kind = int(rng, 0, 5);
          if (kind === 0) fields.push(['u8', int(rng, 0, 0xff)]);
          else if (kind === 1) fields.push(['u16', int(rng, 0, 0xffff)]);
          else if (kind === 2) fields.push(['u32', int(rng, 0, 0xffffffff)]);
          else if (kind === 3) fields.push(['u48', int(rng, 0, MAX_U48)]);
          else if (kind === 4) fields.push(['varint', anyU53(rng)]);
          else fields.push(['bytes', bytes(rng, int(rng, 0, 20))]);
        }
        for (const [kind, v] of fields) {
          if (kind === 'bytes') w.bytes(v as Uint8Array);
          else (w[kind as 'u8'] as (x: number) => void).call(w, v as number);
        }
        const r = new ByteReader(buf, 3, w.pos);
        for (const [kind, v] of fields) {
          if (kind === 'bytes') expect(r.bytes((v as Uint8Array).length)).toEqual(v);
          else expect((r[kind as 'u8'] as () => number).call(r)).toBe(v);
        }
        expect(r.remaining).toBe(0);
      }
    }),
  );

  it('is big-endian', () => {
    const w = new ByteWriter(new Uint8Array(12));
    w.u16(0x0102);
    w.u32(0x03040506);
    w.u48(0x0708090a0b0c);
    expect(Buffer.from(w.buf).toString('hex')).toBe('0102030405060708090a0b0c');
  });

  it('returns views, not copies', () => {
    const buf = new Uint8Array([1, 2, 3, 4]);
    const view = new ByteReader(buf, 1).bytes(2);
    buf[1] = 9;
    expect(view[0]).toBe(9);
  });

  it('throws truncated past the end and leaves pos unchanged', () => {
    const buf = Buffer.from('4000ffff', 'hex');
    for (const read of ['u16', 'u32', 'u48', 'varint'] as const) {
      const r = new ByteReader(buf, 3);
      expect(wireCode(() => r[read]())).toBe('truncated');
      expect(r.pos).toBe(3);
    }
    expect(wireCode(() => new ByteReader(buf, 0, 1).varint())).toBe('truncated');
    expect(wireCode(() => new ByteReader(buf, 4).u8())).toBe('truncated');
    expect(wireCode(() => new ByteReader(buf).bytes(5))).toBe('truncated');
  });

  it('throws overflow instead of writing past the end', () => {
    const w = new ByteWriter(new Uint8Array(5), 2);
    expect(wireCode(() => w.u32(1))).toBe('overflow');
    expect(wireCode(() => w.varint(2 ** 30))).toBe('overflow');
    expect(wireCode(() => w.bytes(new Uint8Array(4)))).toBe('overflow');
    expect(wireCode(() => w.zeros(4))).toBe('overflow');
    expect(w.pos).toBe(2);
    w.u16(0xffff);
    w.u8(1);
    expect(w.remaining).toBe(0);
  });

  it('rejects out-of-range values', () => {
    const w = new ByteWriter(new Uint8Array(8));
    expect(wireCode(() => w.u8(256))).toBe('bad-value');
    expect(wireCode(() => w.u8(-1))).toBe('bad-value');
    expect(wireCode(() => w.u16(0x10000))).toBe('bad-value');
    expect(wireCode(() => w.u32(2 ** 32))).toBe('bad-value');
    expect(wireCode(() => w.u32(0.5))).toBe('bad-value');
    expect(wireCode(() => w.u48(2 ** 48))).toBe('bad-value');
    expect(w.pos).toBe(0);
  });

  it('rejects a bad region', () => {
    expect(wireCode(() => new ByteReader(new Uint8Array(4), 3, 2))).toBe('bad-length');
    expect(wireCode(() => new ByteReader(new Uint8Array(4), 0, 5))).toBe('bad-length');
    expect(wireCode(() => new ByteWriter(new Uint8Array(4), 5))).toBe('bad-length');
  });
});
