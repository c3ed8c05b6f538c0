import { describe, expect, it } from 'vitest';
import { deadWorkers, parseEntries } from './dead-workers.js';

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
