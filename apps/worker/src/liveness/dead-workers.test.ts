import { describe, expect, it } from 'vitest';
import { deadWorkers, linkSteady, parseEntries } from './dead-workers.js';

describe('deadWorkers', () => {
  it('a worker whose beat has not expired is alive, however long its runs take', () => {
    expect(deadWorkers([['a', 10_000], ['b', 10_000]], 10_000, 30_000)).toEqual({ dead: [], forget: [] });
  });

  it('an expired beat means dead; expired for longer than forgetAfterMs means forgotten', () => {
    expect(deadWorkers([['a', 9_999], ['b', 20_000], ['c', 1_000]], 10_000, 5_000)).toEqual({ dead: ['a'], forget: ['c'] });
  });
});

describe('parseEntries', () => {
  it('pairs members with their scores', () => {
    expect(parseEntries(['a', '12', 'b', '1700000000000'])).toEqual([['a', 12], ['b', 1_700_000_000_000]]);
    expect(parseEntries([])).toEqual([]);
  });
});

describe('linkSteady', () => {
  it('is steady a whole TTL after the last interruption, and from the start when there was none', () => {
    expect(linkSteady(Number.NEGATIVE_INFINITY, 5, 3000)).toBe(true);
    expect(linkSteady(1_000, 3_999, 3000)).toBe(false);
    expect(linkSteady(1_000, 4_000, 3000)).toBe(true);
  });
});
