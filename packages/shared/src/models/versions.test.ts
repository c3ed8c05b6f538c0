import { describe, expect, it } from 'vitest';
import { loadServed, servedAmong, servedVersions } from './versions.js';

describe('servedVersions', () => {
  describe('latest', () => {
    it('serves the newest n, newest first, whatever the input order', () => {
      expect(servedVersions([1, 3, 2, 10], { latest: 2 })).toEqual([10, 3]);
      expect(servedVersions([1, 3, 2, 10], { latest: 1 })).toEqual([10]);
    });

    it('sorts numerically, not as strings', () => {
      expect(servedVersions([9, 10, 100], { latest: 3 })).toEqual([100, 10, 9]);
    });

    it('serves everything when n exceeds the versions', () => {
      expect(servedVersions([2, 1], { latest: 5 })).toEqual([2, 1]);
    });

    it('ignores duplicates', () => {
      expect(servedVersions([2, 2, 1], { latest: 2 })).toEqual([2, 1]);
    });
  });

  describe('all', () => {
    it('serves every version, newest first', () => {
      expect(servedVersions([4, 1, 7], { all: true })).toEqual([7, 4, 1]);
    });
  });

  describe('specific', () => {
    it('serves only the named versions that exist, newest first', () => {
      expect(servedVersions([1, 2, 3, 4], { specific: [1, 3] })).toEqual([3, 1]);
    });

    it('drops named versions that do not exist (the caller reports them)', () => {
      expect(servedVersions([1, 2], { specific: [2, 5] })).toEqual([2]);
      expect(servedVersions([1, 2], { specific: [5] })).toEqual([]);
    });
  });

  it('serves nothing from nothing', () => {
    expect(servedVersions([], { latest: 1 })).toEqual([]);
    expect(servedVersions([], { all: true })).toEqual([]);
  });

  it('does not mutate its input', () => {
    const available = [1, 3, 2];
    servedVersions(available, { all: true });
    expect(available).toEqual([1, 3, 2]);
  });
});

describe('servedAmong and loadServed: a broken version never replaces a working one', () => {
  it('latest 1 with the newest broken serves the one before', () => {
    expect(servedAmong([1, 2, 3], { latest: 1 }, new Set([3]))).toEqual([2]);
    expect(servedAmong([1, 2, 3], { latest: 2 }, new Set([3]))).toEqual([2, 1]);
  });

  it('specific or all: a broken version is just not served', () => {
    expect(servedAmong([1, 2, 3], { specific: [1, 3] }, new Set([3]))).toEqual([1]);
    expect(servedAmong([1, 2, 3], { all: true }, new Set([2]))).toEqual([3, 1]);
    expect(servedAmong([1], { latest: 1 }, new Set([1]))).toEqual([]);
  });

  it('loadServed tries candidates newest first, once each, and reports the failures', async () => {
    const tried: number[] = [];
    const r = await loadServed([1, 2, 3, 4], { latest: 2 }, async (v) => {
      tried.push(v);
      if (v === 4 || v === 2) throw new Error(`v${v} broken`);
      return `ok${v}`;
    });
    expect(tried).toEqual([4, 3, 2, 1]);
    expect(r.served).toEqual([{ version: 3, value: 'ok3' }, { version: 1, value: 'ok1' }]);
    expect([...r.broken]).toEqual([[4, 'v4 broken'], [2, 'v2 broken']]);
  });

  it('loadServed with every version broken serves nothing', async () => {
    const r = await loadServed([1, 2], { latest: 1 }, async () => Promise.reject(new Error('bad')));
    expect(r.served).toEqual([]);
    expect(r.broken.size).toBe(2);
  });
});
