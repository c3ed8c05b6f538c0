import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { batchKeys, type BatchObject } from '@maas/shared';
import { BatchResults, CountAbandoned } from './batch-results.js';
import { Stop } from './stop-signal.js';
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

describe('BatchResults counting a range\'s chunks', () => {
  // 40 chunks of one failed line each (each read answers a little later),
  // the failed lines' form, so no outputs are read.
  const CHUNKS = 40;
  const setup = (onRead: (reads: number) => void = () => {}, marker = 'f:1:{"type":"inference_error","message":"no"}') => {
    const reads: string[] = [];
    const answer = (value: string) => new Promise<string>((resolve) => setTimeout(() => resolve(value), 1));
    const redis = {
      hget: (key: string, field: string) => {
        reads.push(field);
        onRead(reads.length);
        return answer(key.endsWith('lines') ? `[["r${field}",0,0]]` : marker);
      },
      hgetBuffer: () => Promise.resolve(null),
    } as unknown as Redis;
    const results = new BatchResults(redis, {} as ModelCatalog);
    const done = { id: 'b1', meta: { chunks_total: String(CHUNKS) }, k: batchKeys('b1'), batch: {} as BatchObject };
    return { results, done, reads };
  };
  const failed = { type: 'ndjson', failedOnly: true } as const;

  it('counts every chunk once for ranges asked at once, and keeps the count for the next', async () => {
    const { results, done, reads } = setup();
    const [a, b] = await Promise.all([results.chunkBytes(done, failed), results.chunkBytes(done, failed, new Stop())]);
    expect(a).toHaveLength(CHUNKS);
    expect(a.every((n) => n > 0)).toBe(true);
    expect(b).toBe(a);
    expect(await results.chunkBytes(done, failed)).toBe(a);
    expect(reads).toHaveLength(2 * CHUNKS); // lines and marker, once a chunk
  });

  it('stops a count when the only request waiting on it goes away, and counts afresh for the next', async () => {
    const gone = new Stop();
    const { results, done, reads } = setup((n) => n === 24 && gone.stop()); // 4 chunks after the first 8 read ahead
    const counting = results.chunkBytes(done, failed, gone);
    await expect(counting).rejects.toBeInstanceOf(CountAbandoned);
    const readBefore = reads.length;
    expect(readBefore).toBeLessThan(2 * CHUNKS);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reads.length).toBeLessThanOrEqual(readBefore + 2 * 8); // no more than the reads ahead already sent
    const again = await results.chunkBytes(done, failed);
    expect(again).toHaveLength(CHUNKS);
  });

  it('stops between chunks that give the failed lines nothing (no line of theirs failed)', async () => {
    const gone = new Stop();
    const { results, done, reads } = setup((n) => n === 24 && gone.stop(), 's:1');
    await expect(results.chunkBytes(done, failed, gone)).rejects.toBeInstanceOf(CountAbandoned);
    expect(reads.length).toBeLessThan(2 * CHUNKS);
  });

  it('goes on while another request waits on it, or one without a signal; a request gone before it asks leaves at once', async () => {
    const { results, done } = setup();
    const [first, second] = [new Stop(), new Stop()];
    const a = results.chunkBytes(done, failed, first);
    const b = results.chunkBytes(done, failed, second);
    first.stop();
    second.stop();
    await expect(a).rejects.toBeInstanceOf(CountAbandoned);
    await expect(b).rejects.toBeInstanceOf(CountAbandoned);

    const left = new Stop();
    const c = results.chunkBytes(done, failed, left);
    const d = results.chunkBytes(done, failed); // no signal: this one keeps the count going
    left.stop();
    expect(await c).toHaveLength(CHUNKS);
    expect(await d).toBe(await c);

    const already = new Stop();
    already.stop();
    const { results: fresh, done: doneFresh } = setup();
    await expect(fresh.chunkBytes(doneFresh, failed, already)).rejects.toBeInstanceOf(CountAbandoned);
  });
});
