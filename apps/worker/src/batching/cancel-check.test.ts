import { describe, expect, it } from 'vitest';
import { dueForCancelCheck, type CancelChecked } from './cancel-check.js';

describe('dueForCancelCheck', () => {
  it("checks a job at its first run, then at most every `everyMs` over its later runs", () => {
    const chunk: CancelChecked = {};
    const single: CancelChecked = {};
    expect(dueForCancelCheck([chunk, chunk, single], 1000, 50)).toEqual([chunk, single]); // each once
    expect(chunk.cancelCheckedAt).toBe(1000);
    expect(dueForCancelCheck([chunk], 1020, 50)).toEqual([]);
    expect(dueForCancelCheck([chunk], 1049.9, 50)).toEqual([]);
    expect(dueForCancelCheck([chunk], 1050, 50)).toEqual([chunk]);
    expect(chunk.cancelCheckedAt).toBe(1050);
    const late: CancelChecked = {};
    expect(dueForCancelCheck([chunk, late], 1060, 50)).toEqual([late]);
  });
});
