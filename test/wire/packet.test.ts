import { describe, expect, it } from 'vitest';
import {
  AEAD_TAG_LEN,
  DATA_HEADER_LEN,
  DATA_OVERHEAD,
  HANDSHAKE_INIT_LEN,
  HANDSHAKE_RESPONSE_LEN,
  MAX_PACKET_NUMBER,
  PacketOpener,
  PacketSealer,
  PacketType,
  isFecSource,
  packetType,
  peekSessionId,
} from '../../src/wire/packet.ts';
import { WireError } from '../../src/wire/errors.ts';
import { bytes, int, seeded } from './seed.ts';

describe('Data packets', () => {
  it(
    'seal then open round-trips header fields and payload',
    seeded((rng) => {
      const key = bytes(rng, 32);
      const sessionId = rng.nextU32();
      const sealer = new PacketSealer(key, sessionId);
      const opener = new PacketOpener(key);
      for (let i = 0; i < 200; i++) {
        const pathId = int(rng, 0, 255);
        const pn = i < 3 ? [0, MAX_PACKET_NUMBER, 2 ** 32][i] : int(rng, 0, MAX_PACKET_NUMBER);
        const payload = bytes(rng, int(rng, 0, 1400));
        const packet = sealer.seal(pathId, pn, payload);
        expect(packet.length).toBe(payload.length + DATA_OVERHEAD);
        expect(packet[0]).toBe(PacketType.Data);
        expect(packetType(packet)).toBe(PacketType.Data);
        expect(peekSessionId(packet)).toBe(sessionId);
        const opened = opener.open(packet);
        expect(opened).not.toBeNull();
        expect(opened!.pathId).toBe(pathId);
        expect(opened!.pn).toBe(pn);
        expect(Buffer.from(opened!.payload).equals(Buffer.from(payload))).toBe(true);
      }
      expect(sealer.sealed).toBe(200);
    }),
  );

  it(
    'rejects any single-byte change of header, ciphertext or tag',
    seeded((rng) => {
      const key = bytes(rng, 32);
      const packet = new PacketSealer(key, 7).seal(3, 1000, bytes(rng, 100));
      const opener = new PacketOpener(key);
      for (let i = 0; i < packet.length; i++) {
        const tampered = Buffer.from(packet);
        tampered[i] ^= 1 << int(rng, 0, 7);
        expect(opener.open(tampered), `byte ${i}`).toBeNull();
      }
      expect(opener.open(packet)).not.toBeNull();
    }),
  );

  it(
    'opens a packet where it lies, and an FEC source into the opener\'s scratch, its sealed bytes intact for the decoder',
    seeded((rng) => {
      const key = bytes(rng, 32);
      const sealer = new PacketSealer(key, 7);
      const opener = new PacketOpener(key);
      const payload = bytes(rng, 1200);
      const plain = sealer.seal(1, 10, payload);
      const opened = opener.open(plain)!;
      expect(Buffer.from(opened.payload).equals(Buffer.from(payload))).toBe(true);
      expect(opened.payload.buffer).toBe(plain.buffer);
      expect(opened.payload.byteOffset).toBe(plain.byteOffset + DATA_HEADER_LEN);
      expect(isFecSource(plain)).toBe(false);

      const source = sealer.seal(1, 11, payload, true);
      expect(packetType(source)).toBe(PacketType.Data);
      expect(isFecSource(source)).toBe(true);
      expect(peekSessionId(source)).toBe(7);
      const sealedCopy = Buffer.from(source);
      const fromSource = opener.open(source)!;
      expect(fromSource.pn).toBe(11);
      expect(Buffer.from(fromSource.payload).equals(Buffer.from(payload))).toBe(true);
      expect(fromSource.payload.buffer).not.toBe(source.buffer);
      expect(sealedCopy.equals(source)).toBe(true);

      // The type byte is authenticated: a packet cannot be passed off as the other kind.
      const retyped = sealer.seal(1, 12, payload, true);
      retyped[0] = PacketType.Data;
      expect(opener.open(retyped)).toBeNull();
      const promoted = sealer.seal(1, 13, payload);
      promoted[0] = sealedCopy[0];
      expect(opener.open(promoted)).toBeNull();
    }),
  );

  it(
    'rejects a wrong key, truncation and extension',
    seeded((rng) => {
      const key = bytes(rng, 32);
      const packet = new PacketSealer(key, 7).seal(0, 5, bytes(rng, 50));
      expect(new PacketOpener(bytes(rng, 32)).open(packet)).toBeNull();
      const opener = new PacketOpener(key);
      for (let n = 0; n < packet.length; n++) expect(opener.open(packet.subarray(0, n))).toBeNull();
      expect(opener.open(Buffer.concat([packet, Buffer.from([0])]))).toBeNull();
    }),
  );

  it(
    'never throws on garbage',
    seeded((rng) => {
      const opener = new PacketOpener(bytes(rng, 32));
      for (let i = 0; i < 2000; i++) {
        const d = bytes(rng, int(rng, 0, 200));
        if (rng.next() < 0.5 && d.length > 0) d[0] = PacketType.Data;
        expect(opener.open(d)).toBeNull();
        packetType(d);
        peekSessionId(d);
      }
    }),
  );

  it('seals an empty payload (header and tag only)', () => {
    const key = new Uint8Array(32).fill(1);
    const packet = new PacketSealer(key, 1).seal(0, 0, new Uint8Array(0));
    expect(packet.length).toBe(DATA_HEADER_LEN + AEAD_TAG_LEN);
    expect(new PacketOpener(key).open(packet)!.payload.length).toBe(0);
  });

  it('uses distinct nonces per (pathId, pn): same payload, different ciphertext', () => {
    const key = new Uint8Array(32).fill(2);
    const sealer = new PacketSealer(key, 1);
    const payload = new Uint8Array(32);
    const cts = new Set<string>();
    for (const [path, pn] of [[0, 1], [1, 0], [0, 256], [1, 1], [0, 2 ** 40]]) {
      cts.add(Buffer.from(sealer.seal(path, pn, payload).subarray(DATA_HEADER_LEN)).toString('hex'));
    }
    expect(cts.size).toBe(5);
  });

  it('refuses values it cannot encode', () => {
    const sealer = new PacketSealer(new Uint8Array(32), 1);
    for (const [path, pn] of [[256, 0], [-1, 0], [0, -1], [0, MAX_PACKET_NUMBER + 1], [0, 0.5]]) {
      expect(() => sealer.seal(path, pn, new Uint8Array(1))).toThrow(WireError);
    }
    expect(() => new PacketSealer(new Uint8Array(31), 1)).toThrow(WireError);
    expect(() => new PacketSealer(new Uint8Array(32), 2 ** 32)).toThrow(WireError);
    expect(() => new PacketOpener(new Uint8Array(16))).toThrow(WireError);
  });
});

describe('demultiplexing', () => {
  it('classifies by type byte and length', () => {
    expect(packetType(new Uint8Array(0))).toBeNull();
    expect(packetType(new Uint8Array(DATA_OVERHEAD - 1).fill(PacketType.Data))).toBeNull();
    expect(packetType(new Uint8Array(DATA_OVERHEAD).fill(PacketType.Data))).toBe(PacketType.Data);
    const init = new Uint8Array(HANDSHAKE_INIT_LEN);
    init[0] = PacketType.HandshakeInit;
    expect(packetType(init)).toBe(PacketType.HandshakeInit);
    expect(packetType(init.subarray(0, HANDSHAKE_INIT_LEN - 1))).toBeNull();
    const resp = new Uint8Array(HANDSHAKE_RESPONSE_LEN);
    resp[0] = PacketType.HandshakeResponse;
    expect(packetType(resp)).toBe(PacketType.HandshakeResponse);
    expect(packetType(new Uint8Array([0x04, 0, 0]))).toBeNull();
    expect(peekSessionId(init)).toBeNull();
    expect(peekSessionId(new Uint8Array(DATA_OVERHEAD - 1).fill(PacketType.Data))).toBeNull();
  });
});
