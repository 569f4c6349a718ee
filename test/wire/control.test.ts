import { describe, expect, it } from 'vitest';
import { type Control, decodeControl, encodeControl } from '../../src/wire/control.ts';
import { WireError } from '../../src/wire/errors.ts';
import { anyU53, bytes, int, seeded } from './seed.ts';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (!(e instanceof WireError)) throw new Error(`non-WireError thrown: ${String(e)}`);
    return e.code;
  }
  return 'decoded';
}

describe('control messages (bering.Control protobuf)', () => {
  it(
    'round-trip random messages, including uint64 values up to 2^53-1',
    seeded((rng) => {
      for (let i = 0; i < 300; i++) {
        const msg: Control = { streamOpen: { streamId: anyU53(rng), service: rng.next() < 0.3 ? '' : `svc-${rng.nextU32()}-é` } };
        expect(decodeControl(encodeControl(msg))).toEqual(msg);
      }
      expect(decodeControl(encodeControl({ streamOpen: { streamId: 2 ** 53 - 1, service: 'plex' } }))).toEqual({
        streamOpen: { streamId: 2 ** 53 - 1, service: 'plex' },
      });
    }),
  );

  it('rejects field 2 (the retired Stats, never sent) as a member it does not know', () => {
    // Control { 2: {} }: field 2, length-delimited, empty.
    expect(code(() => decodeControl(Uint8Array.from([0x12, 0x00])))).toBe('bad-control');
  });

  it('rejects an empty message, garbage, and uint64 above 2^53-1 with bad-control', () => {
    expect(code(() => decodeControl(new Uint8Array(0)))).toBe('bad-control');
    expect(code(() => decodeControl(new Uint8Array([0xff, 0xff])))).toBe('bad-control');
    // stream_open { stream_id: 2^53 }: field 1, LEB128 of 2^53 is seven 0x80 bytes then 0x10.
    const big = Buffer.from(`0a0908${'80'.repeat(7)}10`, 'hex');
    expect(code(() => decodeControl(big))).toBe('bad-control');
  });

  it('refuses to encode numbers it could not decode exactly', () => {
    for (const v of [-1, 0.5, 2 ** 53]) {
      expect(code(() => encodeControl({ streamOpen: { streamId: v, service: '' } }))).toBe('bad-value');
    }
  });

  it(
    'throws only WireError on random and mutated bytes',
    seeded((rng) => {
      const valid = encodeControl({ streamOpen: { streamId: 77, service: 'a-service' } });
      for (let i = 0; i < 3000; i++) {
        code(() => decodeControl(bytes(rng, int(rng, 0, 40))));
        const m = Uint8Array.from(valid);
        m[int(rng, 0, m.length - 1)] = int(rng, 0, 255);
        code(() => decodeControl(m.subarray(0, int(rng, 0, m.length))));
      }
    }),
  );
});
