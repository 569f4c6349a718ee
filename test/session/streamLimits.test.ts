import { describe, expect, it } from 'vitest';
import { PeerStreamIds } from '../../src/session/stream/limits.ts';

describe('PeerStreamIds', () => {
  it('opens skipped ids later, once each, and never ids of our own parity', () => {
    const ids = new PeerStreamIds(0, 10);
    expect(ids.admit(6)).toBe('new');
    expect(ids.admit(2)).toBe('new');
    expect(ids.admit(2)).toBe('old');
    expect(ids.admit(0)).toBe('new');
    expect(ids.admit(4)).toBe('new');
    expect(ids.admit(4)).toBe('old');
    expect(ids.admit(1)).toBe('old');
  });

  it('counts skipped ids against the cumulative limit, and returns credit as streams close', () => {
    const ids = new PeerStreamIds(1, 4);
    expect(ids.admit(2 * 4 + 1)).toBe('over');
    expect(ids.admit(2 * 3 + 1)).toBe('new');
    expect(ids.admit(2 * 4 + 1)).toBe('over');
    ids.onClosed();
    expect(ids.admit(2 * 4 + 1)).toBe('new');
    expect(ids.admit(2 * 5 + 1)).toBe('over');
  });
});
