/**
 * Per-tenant request rate limit (429 + Retry-After), counted in Redis so every API instance
 * shares one budget per tenant. `rate-limiter-flexible` does the counting atomically.
 */
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { PREFIX, RateLimitedError } from '@maas/shared';

/** `perSecond` 0 turns the limit off. */
export function rateLimit(redis: Redis, perSecond: number): RequestHandler {
  if (perSecond <= 0) return (_req, _res, next) => next();
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${PREFIX}:ratelimit`, points: perSecond, duration: 1 });
  return (req, _res, next) => {
    limiter.consume(req.tenant).then(
      () => next(),
      (rejection: unknown) => {
        if (rejection instanceof RateLimiterRes) next(new RateLimitedError(perSecond, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))));
        else next(rejection); // Redis trouble: the problem handler answers 503
      },
    );
  };
}
