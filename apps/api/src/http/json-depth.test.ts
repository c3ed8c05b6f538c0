import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from './json-depth.js';

const nested = (n: number): unknown => JSON.parse('['.repeat(n) + ']'.repeat(n));

describe('nestsDeeperThan', () => {
  it('counts arrays and objects alike, scalars as nothing', () => {
    expect(nestsDeeperThan(1, 0)).toBe(false);
    expect(nestsDeeperThan(null, 0)).toBe(false);
    expect(nestsDeeperThan([], 1)).toBe(false);
    expect(nestsDeeperThan([], 0)).toBe(true);
    expect(nestsDeeperThan({ a: [{ b: [1] }] }, 4)).toBe(false);
    expect(nestsDeeperThan({ a: [{ b: [1] }] }, 3)).toBe(true);
  });

  it('measures 100,000 levels without overflowing the stack', () => {
    expect(nestsDeeperThan(nested(100_000), 64)).toBe(true);
    expect(nestsDeeperThan({ inputs: [{ data: nested(64) }] }, 64)).toBe(true);
    expect(nestsDeeperThan({ inputs: [{ data: nested(8) }] }, 64)).toBe(false);
  });

  it('takes bytes for a leaf (a binary tensor\'s data is not walked)', () => {
    expect(nestsDeeperThan({ inputs: [{ data: new Uint8Array(1 << 20) }] }, 3)).toBe(false);
  });

  it('finds a deep branch beside wide shallow ones', () => {
    const wide = Array.from({ length: 10_000 }, (_, i) => (i === 9_999 ? nested(100) : [i]));
    expect(nestsDeeperThan(wide, 64)).toBe(true);
  });
});
