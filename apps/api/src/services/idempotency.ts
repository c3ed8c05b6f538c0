/**
 * Idempotency-Key (IETF draft, as Stripe uses it): the first request with a key claims it
 * atomically (SET NX) for the new job's id; a retry with the same key and body gets that job;
 * the same key with another body is a 409. Keys are per tenant.
 *
 * Claim and enqueue are two steps, so both orders of failure are covered:
 * - a retry that arrives between them (or after a crash between them) finds no job under the
 *   claimed id and queues it itself, under that same id: BullMQ keeps one job per id, so two
 *   racing requests make one job, and neither gets a 404 (services/jobs.ts);
 * - a claim lives PENDING_TTL_S until its job is queued (`commit` then keeps it as long as
 *   jobs are kept), so one whose request died before queueing is gone within a minute rather
 *   than pointing at nothing for a day.
 *
 * Batch uploads have a store of their own (`scope` 'batch': a key names a job or a batch, never
 * both), whose claims point at batches (services/batches.ts): the body of an upload is a stream,
 * so what must match is the request's target (model, version, webhook, format), not its lines.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BinaryData, IdempotencyConflictError, idempotencyKey, ValidationError } from '@maas/shared';

const sha256 = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

/**
 * Contents that came as bytes are hashed, not spelled out as JSON (a 600 kB tensor would be
 * megabytes); an integer past 2^53 in tensor values (a BigInt: json/request-json.ts) is
 * spelled out in digits.
 */
const bodyJson = (body: unknown) =>
  JSON.stringify(body, (_k, v: unknown) =>
    v instanceof BinaryData ? { binary: Array.isArray(v.value) ? sha256(JSON.stringify(v.value)) : sha256(v.value) }
    : typeof v === 'bigint' ? { integer: v.toString() } : v);

/** How long a claim lasts before its job is known to be queued. */
export const PENDING_TTL_S = 60;

/** KEYS: claim. ARGV: job id, then the TTL (commit) or nothing (release). Acts only on a claim for that job. */
const IF_CLAIMED_BY = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, -(#ARGV[1] + 1)) ~= ' ' .. ARGV[1] then return 0 end
if ARGV[2] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return redis.call('DEL', KEYS[1])
`;

/** The longest Idempotency-Key taken (a longer one is a 400). */
export const MAX_IDEMPOTENCY_KEY = 255;

/** KEYS: claim. ARGV: the id it points at, the id to point it at instead, the TTL. Acts only on a claim for that id. */
const MOVE_CLAIM = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, -(#ARGV[1] + 1)) ~= ' ' .. ARGV[1] then return 0 end
redis.call('SET', KEYS[1], string.sub(v, 1, #v - #ARGV[1]) .. ARGV[2], 'EX', ARGV[3])
return 1
`;

export class IdempotencyStore {
  constructor(private readonly redis: Redis, private readonly ttlSeconds: number, private readonly scope?: 'batch') {}

  /** A scope's keys apart from the unscoped ones (a hex hash never starts with `batch-`). */
  private redisKey(tenant: string, key: string): string {
    return idempotencyKey(tenant, this.scope ? `${this.scope}-${sha256(key)}` : sha256(key));
  }

  /**
   * The request's key from its `Idempotency-Key` headers (`headersDistinct`: one entry a header
   * line), or a 400: the header sent twice would otherwise be read as one key, their values
   * joined by a comma, which names neither request.
   */
  static check(values: readonly string[] | undefined): string | undefined {
    if (values === undefined) return undefined;
    if (values.length > 1) throw new ValidationError([{ path: 'Idempotency-Key', message: `sent ${values.length} times: send one` }]);
    const key = values[0]!;
    if (key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY) {
      throw new ValidationError([{ path: 'Idempotency-Key', message: `must be 1 to ${MAX_IDEMPOTENCY_KEY} characters` }]);
    }
    return key;
  }

  /**
   * Claims `key` for `jobId`. Returns undefined when claimed (go ahead and create the job),
   * or the id of the job an earlier request with the same body claimed it for (which may not
   * be queued yet: see the module comment).
   */
  async claim(tenant: string, key: string, body: unknown, jobId: string, pendingTtlS = PENDING_TTL_S): Promise<string | undefined> {
    const redisKey = this.redisKey(tenant, key);
    const bodyHash = sha256(bodyJson(body));
    const claimed = await this.redis.set(redisKey, `${bodyHash} ${jobId}`, 'EX', pendingTtlS, 'NX');
    if (claimed === 'OK') return undefined;
    const existing = (await this.redis.get(redisKey)) ?? '';
    const [hash, existingJob] = existing.split(' ');
    if (hash !== bodyHash || !existingJob) {
      throw new IdempotencyConflictError(key, this.scope ? 'was already used for an upload to another target (model, version, webhook or format)' : undefined);
    }
    return existingJob;
  }

  /** The claim's job is queued: keep the key as long as jobs are kept. */
  async commit(tenant: string, key: string, jobId: string): Promise<void> {
    await this.redis.eval(IF_CLAIMED_BY, 1, this.redisKey(tenant, key), jobId, this.ttlSeconds);
  }

  /** Gives the key back when its job could not be created, so a retry can succeed. */
  async release(tenant: string, key: string, jobId: string): Promise<void> {
    await this.redis.eval(IF_CLAIMED_BY, 1, this.redisKey(tenant, key), jobId);
  }

  /** Keeps a pending claim alive `ttlS` more while its resource is still being made (a batch upload may take minutes). */
  async keepPending(tenant: string, key: string, id: string, ttlS: number): Promise<void> {
    await this.redis.eval(IF_CLAIMED_BY, 1, this.redisKey(tenant, key), id, ttlS);
  }

  /** Points a claim whose resource is gone (an upload abandoned) at `newId`, pending `ttlS`; false when the claim had moved on. */
  async reclaim(tenant: string, key: string, goneId: string, newId: string, ttlS = PENDING_TTL_S): Promise<boolean> {
    return (await this.redis.eval(MOVE_CLAIM, 1, this.redisKey(tenant, key), goneId, newId, ttlS)) === 1;
  }
}
