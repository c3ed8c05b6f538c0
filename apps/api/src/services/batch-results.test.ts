import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { batchKeys, type BatchObject } from '@maas/shared';
import { BatchResults } from './batch-results.js';
import type { ModelCatalog } from './catalog.js';

describe('BatchResults reading ahead', () => {
  it('leaves no read ahead unhandled when one fails after the reader stopped (a Redis restart mid-download)', async () => {
    // Chunk 0's read fails at once (the reader throws it); chunk 1's fails later, while no one awaits it.
    const failing = (field: string) =>
      field === '0' ? Promise.reject(new Error('chunk 0 refused'))
      : field === '1' ? new Promise((_, reject) => setTimeout(() => reject(new Error('chunk 1 refused')), 20))
      : Promise.resolve(null);
    const redis = { hget: (_k: string, f: string) => failing(f), hgetBuffer: (_k: string, f: string) => failing(f) } as unknown as Redis;
    const results = new BatchResults(redis, {} as ModelCatalog);
    const done = { id: 'b1', meta: { chunks_total: '4' }, k: batchKeys('b1'), batch: {} as BatchObject };
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const read = (async () => {
        for await (const _ of results.bytes(done, { type: 'ndjson', failedOnly: false })) void _;
      })();
      await expect(read).rejects.toThrow('chunk 0 refused');
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
