/**
 * A tenant's batches, newest first, a page at a time (`GET /v1/batches?after=…&limit=…`, as the
 * OpenAI Batch API lists them): a sorted set per tenant (`tenantBatchesKey`) of the ids of its
 * uploaded batches, scored by their creation time. A batch leaves Redis at the end of its
 * retention without telling the list: a page drops the ids whose batch is gone as it meets them,
 * and each addition trims ids older than any batch can live.
 */
import type { Redis } from 'ioredis';
import { batchKeys, isWellFormedId, readBatch, tenantBatchesKey, toBatchObject, ValidationError, type BatchObject } from '@maas/shared';

export interface BatchPage {
  data: BatchObject[];
  has_more: boolean;
}

/** Ids read beyond a page, so a run of ids of gone batches is dropped in few reads. */
const SLACK = 50;

/**
 * KEYS: the list. ARGV: the cursor's id or '', count. The `count` ids after the cursor, newest
 * first, in one step (a batch added meanwhile cannot shift the window); nil when the cursor is
 * not in the list.
 */
const PAGE_LUA = `
local start = 0
if ARGV[1] ~= '' then
  local rank = redis.call('ZREVRANK', KEYS[1], ARGV[1])
  if not rank then return false end
  start = rank + 1
end
return redis.call('ZREVRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
`;

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
    if (after !== undefined && !isWellFormedId(after, 'batch')) throw badCursor(after);
    const window = limit + 1 + SLACK;
    for (;;) {
      const ids = (await this.redis.eval(PAGE_LUA, 1, key, after ?? '', window)) as string[] | null;
      if (ids === null) throw badCursor(after!);
      const owners = await Promise.all(ids.map((id) => this.redis.hget(batchKeys(id).meta, 'tenant')));
      const gone = ids.filter((_, i) => owners[i] !== tenant);
      const live = ids.filter((_, i) => owners[i] === tenant);
      // The ids of batches gone (past their retention) leave as they are met. A window that came
      // back short of a page had more gone than SLACK (now dropped): read it again.
      if (gone.length > 0) await this.redis.zrem(key, ...gone);
      if (live.length <= limit && ids.length === window) continue;
      const shown = live.slice(0, limit);
      const read = await Promise.all(shown.map((id) => readBatch(this.redis, id)));
      const data = shown.flatMap((id, i) => (read[i]!.meta['tenant'] === tenant ? [toBatchObject(id, read[i]!.meta, read[i]!.counts)] : []));
      return { data, has_more: live.length > limit };
    }
  }
}

const badCursor = (after: string) =>
  new ValidationError([{ path: 'after', message: `${after} names none of your batches (past its retention, or never yours)` }]);
