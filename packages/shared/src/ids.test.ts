import { describe, expect, it } from 'vitest';
import { isWellFormedId, newBatchId, newJobId, newWorkerId } from './ids.js';

describe('ids', () => {
  it('newJobId: job_ + 21 alphanumerics, no colon (BullMQ rejects custom ids with ":")', () => {
    const id = newJobId();
    expect(id).toMatch(/^job_[0-9A-Za-z]{21}$/);
    expect(id).not.toContain(':');
  });

  it('newBatchId and newWorkerId have their prefixes', () => {
    expect(newBatchId()).toMatch(/^batch_[0-9A-Za-z]{21}$/);
    expect(newWorkerId()).toMatch(/^wrk_[0-9A-Za-z]{10}$/);
  });

  it('ids are unique', () => {
    const ids = new Set(Array.from({ length: 1000 }, newJobId));
    expect(ids.size).toBe(1000);
  });

  it('isWellFormedId accepts our ids of the right kind', () => {
    expect(isWellFormedId(newJobId(), 'job')).toBe(true);
    expect(isWellFormedId(newBatchId(), 'batch')).toBe(true);
  });

  it('isWellFormedId rejects the wrong kind and malformed ids', () => {
    expect(isWellFormedId(newJobId(), 'batch')).toBe(false);
    expect(isWellFormedId(newBatchId(), 'job')).toBe(false);
    for (const bad of ['job_', 'job_abc:def', 'job_abc-def', 'JOB_abc', 'job_' + 'a'.repeat(33), ' job_abc', 'job_abc\n', '../job_abc']) {
      expect(isWellFormedId(bad, 'job'), JSON.stringify(bad)).toBe(false);
    }
    expect(isWellFormedId('wrk_abc', 'job')).toBe(false);
  });
});
