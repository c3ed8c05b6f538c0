import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Redis } from 'ioredis';
import { QueueRegistry, type InferenceQueue } from './queues.js';

/** A queue whose counts are read from `depth`, counting the reads. */
function countedQueue(depth: { value: number }) {
  const reads: ((v: Record<string, number>) => void)[] = [];
  const q = {
    name: 'q',
    getJobCounts: () => new Promise<Record<string, number>>((resolve) => reads.push(resolve)),
  } as unknown as InferenceQueue;
  const answer = () => reads.shift()!({ waiting: depth.value, prioritized: 0, delayed: 0 });
  return { q, reads, answer };
}

afterEach(() => vi.useRealTimers());

describe('QueueRegistry.queuedJobs', () => {
  it('reads the depth once a second, refreshing ahead so that steady traffic never waits for it', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['Date'] });
    const registry = new QueueRegistry({} as Redis);
    const depth = { value: 5 };
    const { q, reads, answer } = countedQueue(depth);
    const first = registry.queuedJobs(q); // nothing cached: this one waits for the read
    expect(reads).toHaveLength(1);
    answer();
    expect(await first).toEqual({ value: 5, at: 0 });
    depth.value = 7;
    vi.setSystemTime(400);
    expect((await registry.queuedJobs(q)).value).toBe(5); // fresh: no read
    expect(reads).toHaveLength(0);
    vi.setSystemTime(600);
    expect((await registry.queuedJobs(q)).value).toBe(5); // past half its age: answered at once, read in the background
    expect((await registry.queuedJobs(q)).value).toBe(5); // one background read at a time
    expect(reads).toHaveLength(1);
    answer();
    await Promise.resolve();
    vi.setSystemTime(700);
    expect((await registry.queuedJobs(q)).value).toBe(7);
    expect(reads).toHaveLength(0);
    vi.setSystemTime(5000); // long idle: too old to use, so the request waits for a new read
    depth.value = 9;
    const late = registry.queuedJobs(q);
    expect(reads).toHaveLength(1);
    answer();
    expect(await late).toEqual({ value: 9, at: 5000 });
    vi.setSystemTime(4000); // the clock stepped back: a reading from its future is not used
    const stepped = registry.queuedJobs(q);
    expect(reads).toHaveLength(1);
    answer();
    expect(await stepped).toEqual({ value: 9, at: 4000 });
  });
});
