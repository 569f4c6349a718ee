import { describe, expect, it } from 'vitest';
import { AMPLIFICATION_FACTOR, PathMigration, quietMs } from '../../src/session/pathValidation.ts';

const HOME = { address: '198.51.100.7', port: 50_000 };
const NAT = { address: '198.51.100.7', port: 50_001 };
const RACER = { address: '203.0.113.66', port: 40_000 };
const SRTT = 180;
const CHALLENGE = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

/** A path whose first packet came from the handshake's address, `HOME`. */
function settled(): PathMigration {
  const m = new PathMigration();
  m.trust(HOME, 0);
  m.onAuthentic(0, { ...HOME }, 0, true, 100, SRTT, false);
  return m;
}

describe('PathMigration', () => {
  it("takes the handshake's address at once and probes any other first address", () => {
    expect(settled().current).toEqual(HOME);
    expect(settled().holdsTraffic).toBe(false);
    const m = new PathMigration();
    m.trust(HOME, 0);
    m.onAuthentic(0, RACER, 0, true, 100, SRTT, false);
    expect(m.current).toBeNull();
    expect(m.holdsTraffic).toBe(true);
    m.handleTimeout(0);
    expect(m.probing).toBe(true);
    expect(m.target).toBe(RACER);
    // The original from the handshake's address wins at once.
    m.onAuthentic(40, HOME, 0, false, 100, SRTT, false);
    expect(m.current).toBe(HOME);
    expect(m.holdsTraffic).toBe(false);
  });

  it('drops a newer packet from elsewhere when the current address speaks within the quiet spell, even a duplicate', () => {
    const m = settled();
    m.onAuthentic(1000, RACER, 0, true, 1200, SRTT, false);
    expect(m.candidate).toBe(RACER);
    expect(m.nextTimeout()).toBe(1000 + quietMs(SRTT));
    m.onAuthentic(1030, HOME, 0, false, 1200, SRTT, false);
    expect(m.candidate).toBeNull();
    m.handleTimeout(1000 + quietMs(SRTT));
    expect(m.probing).toBe(false);
    expect(m.target).toEqual(HOME);
  });

  it('ignores an older packet from elsewhere', () => {
    const m = settled();
    m.onAuthentic(1000, RACER, 0, false, 1200, SRTT, false);
    expect(m.candidate).toBeNull();
  });

  it('moves after the quiet spell and an answered challenge, within 3x the bytes received', () => {
    const m = settled();
    m.onAuthentic(1000, NAT, 0, true, 40, SRTT, false);
    m.handleTimeout(1000 + quietMs(SRTT));
    expect(m.probing).toBe(true);
    expect(m.target).toBe(NAT);
    expect(m.canChallenge(1045, AMPLIFICATION_FACTOR * 40 + 1)).toBe(false);
    expect(m.canChallenge(1045, 46)).toBe(true);
    m.onChallengeSent(1045, CHALLENGE, 46, 300);
    // 120 bytes allowed, 46 spent: no room for another 46 + 46 until more arrives.
    expect(m.canChallenge(1345, 75)).toBe(false);
    expect(m.onResponse(new Uint8Array(8))).toBe(false);
    expect(m.onResponse(CHALLENGE)).toBe(true);
    expect(m.current).toBe(NAT);
    expect(m.moves).toBe(1);
    expect(m.holdsTraffic).toBe(false);
  });

  it('gives up a candidate that answers no challenge and keeps the old address', () => {
    const m = settled();
    m.onAuthentic(1000, RACER, 0, true, 1200, SRTT, false);
    let now = 1000 + quietMs(SRTT);
    m.handleTimeout(now);
    for (let i = 0; i < 3; i++) {
      expect(m.canChallenge(now, 46)).toBe(true);
      m.onChallengeSent(now, CHALLENGE, 46, 300);
      now += 300;
      m.handleTimeout(now);
    }
    expect(m.probing).toBe(false);
    expect(m.target).toEqual(HOME);
    expect(m.moves).toBe(0);
  });

  it('once the path went silent, takes a candidate at once, duplicates included', () => {
    const m = settled();
    m.onAuthentic(5000, NAT, 0, false, 100, SRTT, true);
    expect(m.candidate).toBe(NAT);
    m.handleTimeout(5000);
    expect(m.probing).toBe(true);
  });
});
