import { describe, expect, it } from 'vitest';
import { FULL_AHEAD_MAX, FULL_AHEAD_MS, fullBatchesAhead } from './full-ahead.js';

describe('fullBatchesAhead', () => {
  it('as many full batches as fit in FULL_AHEAD_MS of predicted compute, between 1 and FULL_AHEAD_MAX', () => {
    expect(fullBatchesAhead(FULL_AHEAD_MS / 2)).toBe(2);
    expect(fullBatchesAhead(FULL_AHEAD_MS / 3 + 0.01)).toBe(2);
    expect(fullBatchesAhead(1)).toBe(Math.min(FULL_AHEAD_MAX, Math.floor(FULL_AHEAD_MS)));
    expect(fullBatchesAhead(0.05)).toBe(FULL_AHEAD_MAX);
    expect(fullBatchesAhead(0)).toBe(FULL_AHEAD_MAX);
  });

  it('one behind a run that takes longer than the bound, or whose cost is not known yet', () => {
    expect(fullBatchesAhead(FULL_AHEAD_MS + 1)).toBe(1);
    expect(fullBatchesAhead(250)).toBe(1);
    expect(fullBatchesAhead(Infinity)).toBe(1);
    expect(fullBatchesAhead(NaN)).toBe(1);
  });
});
