import { describe, expect, it } from 'vitest';
import { completionEvents, smallResults } from './completion-events.js';

describe('completionEvents', () => {
  it('keeps completed (with the stored result) and failed events of BullMQ\'s stream, in order; drops the rest', () => {
    const entries: [string, string[]][] = [
      ['1-0', ['event', 'added', 'jobId', 'a', 'name', 'infer']],
      ['1-1', ['event', 'waiting', 'jobId', 'a']],
      ['2-0', ['event', 'active', 'jobId', 'a', 'prev', 'waiting']],
      ['3-0', ['event', 'completed', 'jobId', 'a', 'returnvalue', '{"v":1}', 'prev', 'active']],
      ['3-1', ['event', 'failed', 'jobId', 'b', 'failedReason', 'x', 'prev', 'active']],
      ['4-0', ['event', 'drained', 'id', '3-1']],
      ['5-0', ['event', 'completed']], // no job: nothing to wake
    ];
    expect(completionEvents(entries)).toEqual([
      { jobId: 'a', event: 'completed', returnvalue: '{"v":1}' },
      { jobId: 'b', event: 'failed' },
    ]);
  });
});

describe('smallResults', () => {
  const out = (datatype: 'FP32' | 'BYTES' | 'INT64', shape: number[]) => ({ name: 'y', datatype, shape });
  it('fixed outputs of at most 256 bytes a row', () => {
    expect(smallResults({ outputs: [out('FP32', [-1, 2])] })).toBe(true); // the shipped mlp: 8 bytes a row
    expect(smallResults({ outputs: [out('FP32', [-1, 64])] })).toBe(true);
    expect(smallResults({ outputs: [out('FP32', [-1, 64]), out('INT64', [-1, 1])] })).toBe(false); // 264 bytes
    expect(smallResults({ outputs: [out('FP32', [-1, 1000])] })).toBe(false);
  });
  it('never for a dynamic dimension beyond the batch, or strings', () => {
    expect(smallResults({ outputs: [out('FP32', [-1, -1])] })).toBe(false);
    expect(smallResults({ outputs: [out('BYTES', [-1, 1])] })).toBe(false);
  });
});
