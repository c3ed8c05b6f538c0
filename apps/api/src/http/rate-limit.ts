/**
 * Per-tenant request rate limit (429 + Retry-After), counted in Redis so every API instance
 * shares one budget per tenant. `rate-limiter-flexible` does the counting atomically; one
 * limiter per distinct rate (RATE_LIMIT_RPS, or the tenant's TENANT_QUOTAS `rps`).
 */
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { PREFIX, RateLimitedError } from '@maas/shared';

/** `rpsOf(tenant)` 0 turns the limit off for that tenant. */
export function rateLimit(redis: Redis, rpsOf: (tenant: string) => number): RequestHandler {
  const limiters = new Map<number, RateLimiterRedis>();
  const limiter = (rps: number) => {
    let l = limiters.get(rps);
    if (!l) limiters.set(rps, (l = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${PREFIX}:ratelimit:${rps}`, points: rps, duration: 1 })));
    return l;
  };
  return (req, _res, next) => {
    const perSecond = rpsOf(req.tenant);
    if (perSecond <= 0) return next();
    limiter(perSecond).consume(req.tenant).then(
      () => next(),
      (rejection: unknown) => {
        if (rejection instanceof RateLimiterRes) next(new RateLimitedError(perSecond, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))));
        else next(rejection); // Redis trouble: the problem handler answers 503
      },
    );
  };
}
