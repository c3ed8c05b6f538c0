/**
 * Idempotency-Key (IETF draft, as Stripe uses it): the first request with a key claims it
 * atomically (SET NX) for the new job; a retry with the same key and body gets that job; the
 * same key with another body is a 409. Keys are per tenant and kept as long as jobs are.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BinaryData, IdempotencyConflictError, idempotencyKey, ValidationError } from '@maas/shared';

const sha256 = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

/** Contents that came as bytes are hashed, not spelled out as JSON (a 600 kB tensor would be megabytes). */
const bodyJson = (body: unknown) =>
  JSON.stringify(body, (_k, v: unknown) =>
    v instanceof BinaryData ? { binary: Array.isArray(v.value) ? sha256(JSON.stringify(v.value)) : sha256(v.value) } : v);

export class IdempotencyStore {
  constructor(private readonly redis: Redis, private readonly ttlSeconds: number) {}

  static check(key: string | undefined): string | undefined {
    if (key === undefined) return undefined;
    if (key.length < 1 || key.length > 255) {
      throw new ValidationError([{ path: 'Idempotency-Key', message: 'must be 1 to 255 characters' }]);
    }
    return key;
  }

  /**
   * Claims `key` for `jobId`. Returns undefined when claimed (go ahead and create the job),
   * or the id of the job an earlier request with the same body created.
   */
  async claim(tenant: string, key: string, body: unknown, jobId: string): Promise<string | undefined> {
    const redisKey = idempotencyKey(tenant, sha256(key));
    const bodyHash = sha256(bodyJson(body));
    const claimed = await this.redis.set(redisKey, `${bodyHash} ${jobId}`, 'EX', this.ttlSeconds, 'NX');
    if (claimed === 'OK') return undefined;
    const existing = (await this.redis.get(redisKey)) ?? '';
    const [hash, existingJob] = existing.split(' ');
    if (hash !== bodyHash || !existingJob) throw new IdempotencyConflictError(key);
    return existingJob;
  }

  /** Gives the key back when the job could not be created, so a retry can succeed. */
  async release(tenant: string, key: string): Promise<void> {
    await this.redis.del(idempotencyKey(tenant, sha256(key)));
  }
}
