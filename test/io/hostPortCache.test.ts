import { describe, expect, it } from 'vitest';
import { HostPortCache } from '../../src/io/hostPortCache.ts';

describe('HostPortCache', () => {
  it('makes a value once per address, keeps null ones, and starts over past its limit', () => {
    const made: string[] = [];
    const cache = new HostPortCache<string | null>(3, (host, port) => {
      made.push(`${host}:${port}`);
      return port === 0 ? null : `${host}:${port}`;
    });
    expect(cache.get('a', 1)).toBe('a:1');
    expect(cache.get('a', 1)).toBe('a:1');
    expect(cache.get('a', 0)).toBeNull();
    expect(cache.get('a', 0)).toBeNull();
    expect(cache.get('b', 1)).toBe('b:1');
    expect(made).toEqual(['a:1', 'a:0', 'b:1']);
    // A fourth address: the cache holds 3 at most, so it starts over with this one.
    expect(cache.get('c', 9)).toBe('c:9');
    expect(cache.get('a', 1)).toBe('a:1');
    expect(made).toEqual(['a:1', 'a:0', 'b:1', 'c:9', 'a:1']);
  });
});
