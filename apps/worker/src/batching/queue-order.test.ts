import { describe, expect, it } from 'vitest';
import { queueOrder, type QueuedJob } from './queue-order.js';

const sorted = (jobs: (QueuedJob & { name: string })[]) => [...jobs].sort(queueOrder).map((j) => j.name);

describe('queueOrder', () => {
  it('runs lower priority numbers first; no priority before any', () => {
    expect(sorted([
      { name: 'p10', priority: 10, timestamp: 1 },
      { name: 'p1', priority: 1, timestamp: 3 },
      { name: 'none', timestamp: 5 },
      { name: 'p0', priority: 0, timestamp: 4 },
    ])).toEqual(['p0', 'none', 'p1', 'p10']);
  });

  it('equal priority: first queued first', () => {
    expect(sorted([
      { name: 'late', priority: 3, timestamp: 20 },
      { name: 'early', priority: 3, timestamp: 10 },
    ])).toEqual(['early', 'late']);
  });

  it('chunks of one batch go by index, whatever their timestamps', () => {
    expect(sorted([
      { name: 'c2', priority: 9, timestamp: 100, batch: { id: 'b', chunk: 2 } },
      { name: 'c1', priority: 9, timestamp: 101, batch: { id: 'b', chunk: 1 } },
      { name: 'c0', priority: 9, timestamp: 100, batch: { id: 'b', chunk: 0 } },
    ])).toEqual(['c0', 'c1', 'c2']);
  });

  it('chunks of different batches go by timestamp; equal jobs compare as 0', () => {
    expect(queueOrder({ timestamp: 5, batch: { id: 'x', chunk: 9 } }, { timestamp: 6, batch: { id: 'y', chunk: 0 } })).toBeLessThan(0);
    expect(queueOrder({ priority: 2, timestamp: 5 }, { priority: 2, timestamp: 5 })).toBe(0);
  });
});
