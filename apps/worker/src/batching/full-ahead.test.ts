import { describe, expect, it } from 'vitest';
import { FULL_AHEAD_MAX, FULL_AHEAD_MS, fullRunsAhead } from './full-ahead.js';

describe('fullRunsAhead', () => {
  it('as many full runs as fit in FULL_AHEAD_MS of predicted compute, between 1 and FULL_AHEAD_MAX', () => {
    expect(fullRunsAhead(FULL_AHEAD_MS / 2)).toBe(2);
    expect(fullRunsAhead(FULL_AHEAD_MS / 3 + 0.01)).toBe(2);
    expect(fullRunsAhead(1)).toBe(Math.min(FULL_AHEAD_MAX, Math.floor(FULL_AHEAD_MS)));
    expect(fullRunsAhead(0.05)).toBe(FULL_AHEAD_MAX);
    expect(fullRunsAhead(0)).toBe(FULL_AHEAD_MAX);
  });

  it('one behind a run that takes longer than the bound, or whose cost is not known yet', () => {
    expect(fullRunsAhead(FULL_AHEAD_MS + 1)).toBe(1);
    expect(fullRunsAhead(250)).toBe(1);
    expect(fullRunsAhead(Infinity)).toBe(1);
    expect(fullRunsAhead(NaN)).toBe(1);
  });
});
