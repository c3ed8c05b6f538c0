import { describe, expect, it } from 'vitest';
import { servedVersions } from './versions.js';

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
