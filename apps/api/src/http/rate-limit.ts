/**
 * Per-tenant request rate limit (429 + Retry-After), counted in Redis so every API instance
 * shares one budget per tenant, over REST and gRPC alike. `rate-limiter-flexible` does the
 * counting atomically.
 */
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { PREFIX, RateLimitedError } from '@maas/shared';

/** Resolves when `tenant` may make one more request; rejects with RateLimitedError (or Redis trouble: 503). */
export type RateLimiter = (tenant: string) => Promise<void>;

/** `perSecond` 0 turns the limit off. */
export function rateLimiter(redis: Redis, perSecond: number): RateLimiter {
  if (perSecond <= 0) return () => Promise.resolve();
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${PREFIX}:ratelimit`, points: perSecond, duration: 1 });
  return (tenant) =>
    limiter.consume(tenant).then(
      () => undefined,
      (rejection: unknown) => {
        if (rejection instanceof RateLimiterRes) throw new RateLimitedError(perSecond, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        throw rejection; // Redis trouble: the problem handler answers 503
      },
    );
}

export function rateLimit(limit: RateLimiter): RequestHandler {
  return (req, _res, next) => {
    limit(req.tenant).then(() => next(), next);
  };
}
