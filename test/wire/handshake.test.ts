import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/base/rng.ts';
import {
  DEFAULT_MAX_SKEW_MS,
  derivePskKeys,
  HandshakeInitiator,
  HandshakeResponder,
  isHandshakeInit,
  isHandshakeResponse,
} from '../../src/wire/handshake.ts';
import {
  HANDSHAKE_INIT_LEN,
  HANDSHAKE_RESPONSE_LEN,
  PacketOpener,
  PacketSealer,
} from '../../src/wire/packet.ts';
import { bytes, int, seeded } from './seed.ts';

const NOW = 1_750_000_000_000;

describe('handshake', () => {
  it(
    'derives matching per-direction keys on both sides',
    seeded((rng) => {
      const psk = bytes(rng, 32);
      const responder = new HandshakeResponder(psk);
      for (let i = 0; i < 20; i++) {
        const initiator = new HandshakeInitiator(psk, rng.nextU32(), rng, NOW + i);
        expect(initiator.packet.length).toBe(HANDSHAKE_INIT_LEN);
        expect(isHandshakeInit(initiator.packet)).toBe(true);
        const responderSid = rng.nextU32();
        const accepted = responder.respond(NOW + i + int(rng, -500, 500), initiator.packet, responderSid, rng);
        expect(accepted).not.toBeNull();
        const { response, keys: rKeys, initiatorSessionId } = accepted!;
        expect(response.length).toBe(HANDSHAKE_RESPONSE_LEN);
        expect(response.length).toBeLessThanOrEqual(initiator.packet.length);
        expect(isHandshakeResponse(response)).toBe(true);
        expect(initiatorSessionId).toBe(initiator.localSessionId);
        const iKeys = initiator.accept(response);
        expect(iKeys).not.toBeNull();
        expect(iKeys!.sendKey).toEqual(rKeys.recvKey);
        expect(iKeys!.recvKey).toEqual(rKeys.sendKey);
        expect(iKeys!.sendKey).not.toEqual(iKeys!.recvKey);
        expect(iKeys!.localSessionId).toBe(rKeys.remoteSessionId);
        expect(iKeys!.remoteSessionId).toBe(responderSid);
        expect(rKeys.localSessionId).toBe(responderSid);

        // The keys work end to end through the packet layer, both ways.
        const toResponder = new PacketSealer(iKeys!.sendKey, iKeys!.remoteSessionId).seal(0, 1, bytes(rng, 10));
        expect(new PacketOpener(rKeys.recvKey).open(toResponder)).not.toBeNull();
        const toInitiator = new PacketSealer(rKeys.sendKey, rKeys.remoteSessionId).seal(1, 1, bytes(rng, 10));
        expect(new PacketOpener(iKeys!.recvKey).open(toInitiator)).not.toBeNull();

        // Only the first accept succeeds: the ephemeral key is gone after it.
        expect(initiator.accept(response)).toBeNull();
      }
      expect(responder.stats.accepted).toBe(20);
      expect(responder.remembered).toBe(20);
    }),
  );

  it('is deterministic for a given Rng seed and fresh per attempt', () => {
    const psk = new Uint8Array(32).fill(9);
    const a = new HandshakeInitiator(psk, 1, new SeededRng(42), NOW).packet;
    const b = new HandshakeInitiator(psk, 1, new SeededRng(42), NOW).packet;
    expect(a).toEqual(b);
    const rng = new SeededRng(42);
    expect(new HandshakeInitiator(psk, 1, rng, NOW).packet).not.toEqual(new HandshakeInitiator(psk, 1, rng, NOW).packet);
  });

  it(
    'gives no answer to a wrong PSK, tampering or a truncated init',
    seeded((rng) => {
      const psk = bytes(rng, 32);
      const responder = new HandshakeResponder(psk);
      const wrong = new HandshakeInitiator(bytes(rng, 32), 1, rng, NOW);
      expect(responder.respond(NOW, wrong.packet, 2, rng)).toBeNull();
      expect(responder.stats.badMac).toBe(1);

      const init = new HandshakeInitiator(psk, 1, rng, NOW).packet;
      for (let i = 0; i < init.length; i++) {
        const t = Uint8Array.from(init);
        t[i] ^= 1 << int(rng, 0, 7);
        expect(responder.respond(NOW, t, 2, rng), `byte ${i}`).toBeNull();
      }
      // Flipping the type byte makes it not an init at all; every other byte fails the MAC.
      expect(responder.stats.malformed).toBe(1);
      expect(responder.stats.badMac).toBe(1 + init.length - 1);
      expect(responder.respond(NOW, init.subarray(0, init.length - 1), 2, rng)).toBeNull();
      expect(responder.respond(NOW, new Uint8Array(0), 2, rng)).toBeNull();
      expect(responder.stats.malformed).toBe(3);
      expect(responder.stats.accepted).toBe(0);
      expect(responder.respond(NOW, init, 2, rng)).not.toBeNull();
    }),
  );

  it(
    'gives no answer to a replayed init, and counts it',
    seeded((rng) => {
      const psk = bytes(rng, 32);
      const responder = new HandshakeResponder(psk);
      const init = new HandshakeInitiator(psk, 1, rng, NOW).packet;
      expect(responder.respond(NOW, init, 2, rng)).not.toBeNull();
      expect(responder.respond(NOW + 1, init, 3, rng)).toBeNull();
      expect(responder.respond(NOW + DEFAULT_MAX_SKEW_MS, init, 3, rng)).toBeNull();
      expect(responder.stats.replayed).toBe(2);
      // Once the timestamp is stale, the memory of it is no longer needed and is pruned.
      expect(responder.respond(NOW + DEFAULT_MAX_SKEW_MS + 1, init, 3, rng)).toBeNull();
      expect(responder.stats.stale).toBe(1);
      const later = new HandshakeInitiator(psk, 1, rng, NOW + 2 * DEFAULT_MAX_SKEW_MS + 1).packet;
      expect(responder.respond(NOW + 2 * DEFAULT_MAX_SKEW_MS + 1, later, 4, rng)).not.toBeNull();
      expect(responder.remembered).toBe(1);
      expect(responder.stats.accepted).toBe(2);
    }),
  );

  it(
    'gives no answer to a stale or future timestamp',
    seeded((rng) => {
      const psk = bytes(rng, 32);
      const responder = new HandshakeResponder(psk, { maxSkewMs: 5_000 });
      const old = new HandshakeInitiator(psk, 1, rng, NOW - 5_001).packet;
      const future = new HandshakeInitiator(psk, 1, rng, NOW + 5_001).packet;
      expect(responder.respond(NOW, old, 2, rng)).toBeNull();
      expect(responder.respond(NOW, future, 2, rng)).toBeNull();
      expect(responder.stats.stale).toBe(2);
      const edge = new HandshakeInitiator(psk, 1, rng, NOW - 5_000).packet;
      expect(responder.respond(NOW, edge, 2, rng)).not.toBeNull();
    }),
  );

  it(
    'gives no answer to an init stamped before notBefore, however fresh by the skew',
    seeded((rng) => {
      const psk = bytes(rng, 32);
      const responder = new HandshakeResponder(psk, { notBefore: NOW });
      // Sent just before the start: a redial in flight across a restart, counted apart.
      expect(responder.respond(NOW + 10, new HandshakeInitiator(psk, 1, rng, NOW - 1).packet, 2, rng)).toBeNull();
      expect(responder.stats).toMatchObject({ stale: 0, predatesStart: 1 });
      // Sent 30 s before it: a recording replayed, as stale as any.
      expect(responder.respond(NOW + 10, new HandshakeInitiator(psk, 1, rng, NOW - 30_000).packet, 2, rng)).toBeNull();
      expect(responder.stats).toMatchObject({ stale: 1, predatesStart: 1 });
      expect(responder.respond(NOW + 10, new HandshakeInitiator(psk, 1, rng, NOW).packet, 2, rng)).not.toBeNull();
    }),
  );

  it(
    'refuses new inits instead of growing when the replay memory is full',
    seeded((rng) => {
      const psk = bytes(rng, 32);
      const responder = new HandshakeResponder(psk, { maxRemembered: 3 });
      for (let i = 0; i < 3; i++) {
        expect(responder.respond(NOW, new HandshakeInitiator(psk, i, rng, NOW).packet, i, rng)).not.toBeNull();
      }
      expect(responder.respond(NOW, new HandshakeInitiator(psk, 9, rng, NOW).packet, 9, rng)).toBeNull();
      expect(responder.stats.overloaded).toBe(1);
      expect(responder.remembered).toBe(3);
      // After 2 × maxSkew the memory empties and inits are answered again.
      const later = NOW + 2 * DEFAULT_MAX_SKEW_MS;
      expect(responder.respond(later, new HandshakeInitiator(psk, 9, rng, later).packet, 9, rng)).not.toBeNull();
      expect(responder.remembered).toBe(1);
    }),
  );

  it(
    'rejects forged, tampered or misdirected responses',
    seeded((rng) => {
      const psk = bytes(rng, 32);
      const responder = new HandshakeResponder(psk);
      const initiator = new HandshakeInitiator(psk, 7, rng, NOW);
      const { response } = responder.respond(NOW, initiator.packet, 8, rng)!;

      // Every single-bit change.
      for (let i = 0; i < response.length; i++) {
        const t = Uint8Array.from(response);
        t[i] ^= 1 << int(rng, 0, 7);
        expect(initiator.accept(t), `byte ${i}`).toBeNull();
      }
      // A responder with another PSK does not answer; a response MACed with another PSK fails.
      const otherPsk = bytes(rng, 32);
      expect(new HandshakeResponder(otherPsk).respond(NOW, initiator.packet, 8, rng)).toBeNull();
      const foreign = Uint8Array.from(response);
      const otherMac = createHmac('sha256', derivePskKeys(otherPsk).macKey)
        .update(initiator.packet)
        .update(foreign.subarray(0, 41))
        .digest();
      foreign.set(otherMac.subarray(0, 16), 41);
      expect(initiator.accept(foreign)).toBeNull();
      // A genuine response to a different init (same PSK, same session id): transcript binding.
      const sibling = new HandshakeInitiator(psk, 7, rng, NOW);
      const siblingResponse = responder.respond(NOW, sibling.packet, 8, rng)!.response;
      expect(initiator.accept(siblingResponse)).toBeNull();
      // A response MACed with the right key but over the response alone (no transcript).
      const forged = Uint8Array.from(response);
      const macKey = derivePskKeys(psk).macKey;
      forged.set(createHmac('sha256', macKey).update(forged.subarray(0, 41)).digest().subarray(0, 16), 41);
      expect(initiator.accept(forged)).toBeNull();
      // Wrong length and garbage.
      expect(initiator.accept(response.subarray(0, response.length - 1))).toBeNull();
      expect(initiator.accept(initiator.packet)).toBeNull();
      for (let i = 0; i < 200; i++) expect(initiator.accept(bytes(rng, int(rng, 0, 80)))).toBeNull();
      // The genuine one still works after all that.
      expect(initiator.accept(response)).not.toBeNull();
      expect(sibling.accept(siblingResponse)).not.toBeNull();
    }),
  );

  it(
    'gives no answer to an authentic init with a low-order X25519 key',
    seeded((rng) => {
      const psk = bytes(rng, 32);
      const responder = new HandshakeResponder(psk);
      const init = Uint8Array.from(new HandshakeInitiator(psk, 1, rng, NOW).packet);
      init.fill(0, 5, 37);
      const macKey = derivePskKeys(psk).macKey;
      init.set(createHmac('sha256', macKey).update(init.subarray(0, 59)).digest().subarray(0, 16), 59);
      expect(responder.respond(NOW, init, 2, rng)).toBeNull();
      expect(responder.stats.malformed).toBe(1);
    }),
  );

  it('requires a 32-byte PSK', () => {
    expect(() => derivePskKeys(new Uint8Array(16))).toThrow(/PSK/);
    expect(() => new HandshakeResponder(new Uint8Array(31))).toThrow(/PSK/);
  });
});
