import { describe, expect, it } from 'vitest';
import { RttEstimator } from '../../src/session/ack/rttEstimator.ts';
import { AMPLIFICATION_FACTOR, MIGRATION_PROBE_MAX_BYTES, PathMigration, QUICK_AFTER_PACKETS, quickSpellMs } from '../../src/session/pathValidation.ts';

const HOME = { address: '198.51.100.7', port: 50_000 };
const NAT = { address: '198.51.100.7', port: 50_001 };
const RACER = { address: '203.0.113.66', port: 40_000 };
const SRTT = 180;
const MAX_ACK_DELAY = 25;
const CHALLENGE = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

function migration(): PathMigration {
  return new PathMigration(new RttEstimator(SRTT), MAX_ACK_DELAY);
}

/** A path whose first packet came from the handshake's address, `HOME`. */
function settled(): PathMigration {
  const m = migration();
  m.trust(HOME, 0);
  m.onAuthentic(0, { ...HOME }, 0, true, 100, false);
  return m;
}

/** The spell a candidate with fewer than QUICK_AFTER_PACKETS packets waits: a probe timeout. */
const answerSpell = new RttEstimator(SRTT).pto(MAX_ACK_DELAY);

describe('PathMigration', () => {
  it("takes the handshake's address at once and probes any other first address", () => {
    expect(settled().current).toEqual(HOME);
    expect(settled().holdsTraffic).toBe(false);
    const m = migration();
    m.trust(HOME, 0);
    expect(m.onAuthentic(0, RACER, 0, true, 100, false)).toBe(false);
    expect(m.current).toBeNull();
    expect(m.holdsTraffic).toBe(true);
    m.handleTimeout(0);
    expect(m.probing).toBe(true);
    expect(m.target).toBe(RACER);
    // The original from the handshake's address wins at once.
    m.onAuthentic(40, HOME, 0, false, 100, false);
    expect(m.current).toBe(HOME);
    expect(m.holdsTraffic).toBe(false);
  });

  it('drops a newer packet from elsewhere when the current address speaks within the spell, even a duplicate', () => {
    const m = settled();
    // The session is told to ping the current address, whose answer would also drop the candidate.
    expect(m.onAuthentic(1000, RACER, 0, true, 1200, false)).toBe(true);
    expect(m.candidate).toBe(RACER);
    expect(m.nextTimeout()).toBe(1000 + answerSpell);
    m.onAuthentic(1030, HOME, 0, false, 1200, false);
    expect(m.candidate).toBeNull();
    m.handleTimeout(1000 + answerSpell);
    expect(m.probing).toBe(false);
    expect(m.target).toEqual(HOME);
  });

  it('ignores an older packet from elsewhere', () => {
    const m = settled();
    expect(m.onAuthentic(1000, RACER, 0, false, 1200, false)).toBe(false);
    expect(m.candidate).toBeNull();
  });

  it('outlasts a copy raced a whole one-way delay ahead of its original', () => {
    const m = settled();
    // Copies of three packets the peer sent after a pause land before any original.
    for (let i = 0; i < QUICK_AFTER_PACKETS; i++) m.onAuthentic(1000 + i, RACER, 0, true, 1200, false);
    expect(m.nextTimeout()).toBe(1000 + quickSpellMs(SRTT));
    // The first original arrives one-way (half an RTT) after its copy left the observer.
    m.handleTimeout(1000 + SRTT / 2 - 1);
    expect(m.probing).toBe(false);
    m.onAuthentic(1000 + SRTT / 2, HOME, 0, false, 1200, false);
    expect(m.candidate).toBeNull();
  });

  it('a lone packet from elsewhere waits a probe timeout, not the short spell', () => {
    const m = settled();
    m.onAuthentic(1000, NAT, 0, true, 40, false);
    m.handleTimeout(1000 + quickSpellMs(SRTT));
    expect(m.probing).toBe(false);
    m.handleTimeout(1000 + answerSpell);
    expect(m.probing).toBe(true);
  });

  it('moves after the spell and an answered challenge, within 3x the bytes received', () => {
    const m = settled();
    for (let i = 0; i < QUICK_AFTER_PACKETS; i++) m.onAuthentic(1000 + i, NAT, 0, true, 40, false);
    const probeAt = 1000 + quickSpellMs(SRTT);
    m.handleTimeout(probeAt);
    expect(m.probing).toBe(true);
    expect(m.target).toBe(NAT);
    expect(m.canChallenge(probeAt)).toBe(true);
    m.onChallengeSent(probeAt, CHALLENGE, MIGRATION_PROBE_MAX_BYTES, 300);
    expect(m.canChallenge(probeAt + 1)).toBe(false);
    expect(m.onResponse(new Uint8Array(8))).toBe(false);
    expect(m.onResponse(CHALLENGE)).toBe(true);
    expect(m.current).toBe(NAT);
    expect(m.moves).toBe(1);
    expect(m.holdsTraffic).toBe(false);
  });

  it('gives up a candidate that answers no challenge and keeps the old address', () => {
    const m = settled();
    m.onAuthentic(1000, RACER, 0, true, 1200, false);
    let now = 1000 + answerSpell;
    m.handleTimeout(now);
    for (let i = 0; i < 3; i++) {
      expect(m.canChallenge(now)).toBe(true);
      m.onChallengeSent(now, CHALLENGE, MIGRATION_PROBE_MAX_BYTES, 300);
      now += 300;
      m.handleTimeout(now);
    }
    expect(m.probing).toBe(false);
    expect(m.target).toEqual(HOME);
    expect(m.moves).toBe(0);
  });

  it('gives up a candidate the amplification limit leaves no challenge for, so the path carries traffic again', () => {
    const m = settled();
    // One small packet buys room for a single challenge, fewer than the three a candidate may get.
    m.onAuthentic(1000, RACER, 0, true, Math.ceil(MIGRATION_PROBE_MAX_BYTES / AMPLIFICATION_FACTOR), false);
    let now = 1000 + answerSpell;
    m.handleTimeout(now);
    expect(m.canChallenge(now)).toBe(true);
    m.onChallengeSent(now, CHALLENGE, MIGRATION_PROBE_MAX_BYTES, 300);
    now += 300;
    expect(m.canChallenge(now)).toBe(false);
    m.handleTimeout(now);
    expect(m.holdsTraffic).toBe(false);
    expect(m.target).toEqual(HOME);
    expect(m.nextTimeout()).toBe(Infinity);
  });

  it('once the path went silent, takes a candidate at once, duplicates included', () => {
    const m = settled();
    expect(m.onAuthentic(5000, NAT, 0, false, 100, true)).toBe(false);
    expect(m.candidate).toBe(NAT);
    m.handleTimeout(5000);
    expect(m.probing).toBe(true);
  });
});
