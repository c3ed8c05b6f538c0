/**
 * A tenant's batches, newest first, a page at a time (`GET /v1/batches?after=…&limit=…`, as the
 * OpenAI Batch API lists them): a sorted set per tenant (`tenantBatchesKey`) of the ids of its
 * uploaded batches, scored by their creation time. A batch leaves Redis at the end of its
 * retention without telling the list: a page drops the ids whose batch is gone as it meets them,
 * and each addition trims ids older than any batch can live.
 */
import type { Redis } from 'ioredis';
import { isWellFormedId, readBatch, tenantBatchesKey, toBatchObject, ValidationError, type BatchObject } from '@maas/shared';

export interface BatchPage {
  data: BatchObject[];
  has_more: boolean;
}

/** Passes over ids of batches gone before a page gives up filling (each pass drops what it met). */
const MAX_PASSES = 8;

export class BatchList {
  constructor(
    private readonly redis: Redis,
    /** the longest a batch's records live, in seconds: ids older than this are trimmed */
    private readonly horizonSeconds: number,
  ) {}

  /** Lists batch `id` (uploaded whole) for `tenant`. */
  async add(tenant: string, id: string, createdAt: number): Promise<void> {
    const key = tenantBatchesKey(tenant);
    await this.redis
      .multi()
      .zadd(key, createdAt, id)
      .zremrangebyscore(key, '-inf', `(${createdAt - this.horizonSeconds * 1000}`)
      .expire(key, this.horizonSeconds)
      .exec();
  }

  /** The `limit` batches after `after` (a batch id of this tenant's list), newest first. */
  async page(tenant: string, after: string | undefined, limit: number): Promise<BatchPage> {
    const key = tenantBatchesKey(tenant);
    let start = 0;
    if (after !== undefined) {
      const rank = isWellFormedId(after, 'batch') ? await this.redis.zrevrank(key, after) : null;
      if (rank === null) throw new ValidationError([{ path: 'query.after', message: `${after} names none of your batches (past its retention, or never yours)` }]);
      start = rank + 1;
    }
    for (let pass = 0; ; pass++) {
      // One more than the page: whether there is more after it.
      const ids = await this.redis.zrevrange(key, start, start + limit);
      const read = await Promise.all(ids.map((id) => readBatch(this.redis, id)));
      const gone = ids.filter((_, i) => read[i]!.meta['tenant'] !== tenant);
      if (gone.length > 0 && pass < MAX_PASSES) {
        await this.redis.zrem(key, ...gone); // the ranks after them move up: read the same window again
        continue;
      }
      const found = ids.flatMap((id, i) => (read[i]!.meta['tenant'] === tenant ? [toBatchObject(id, read[i]!.meta, read[i]!.markers)] : []));
      return { data: found.slice(0, limit), has_more: found.length > limit };
    }
  }
}
