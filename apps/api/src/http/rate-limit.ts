/**
 * Per-tenant request rate limit (429 + Retry-After), counted in Redis so every API instance
 * shares one budget per tenant, over REST and gRPC alike. `rate-limiter-flexible` does the
 * counting atomically; one limiter per distinct rate (RATE_LIMIT_RPS, or the tenant's
 * TENANT_QUOTAS `rps`).
 */
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { PREFIX, RateLimitedError } from '@maas/shared';

/**
 * Resolves when `tenant` may make one more request; rejects with RateLimitedError (or Redis
 * trouble: 503). Undefined for a tenant without a limit: no promise to wait for.
 */
export type RateLimiter = (tenant: string) => Promise<void> | undefined;

/**
 * `rpsOf(tenant)` 0 turns the limit off for that tenant; `rates`: every rate it can give (made
 * now, at start-up). A limiter defines its script (`rlflxIncr`) on `redis` as it is made, and an
 * auto-pipeline ioredis opened before that has no such command: a limiter made on the first
 * request at a rate, in a tick that had already sent another command, failed that request
 * (500) and then crashed the process (ioredis's pipeline callbacks out of step). So the script
 * is defined here, before any request, whatever the rates.
 */
export function rateLimiter(redis: Redis, rpsOf: (tenant: string) => number, rates: Iterable<number>): RateLimiter {
  const limiters = new Map<number, RateLimiterRedis>();
  const limiter = (rps: number) => {
    let l = limiters.get(rps);
    if (!l) limiters.set(rps, (l = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${PREFIX}:ratelimit:${rps}`, points: rps, duration: 1 })));
    return l;
  };
  limiter(1);
  for (const rps of rates) if (rps > 0) limiter(rps);
  return (tenant) => {
    const perSecond = rpsOf(tenant);
    if (perSecond <= 0) return undefined;
    return limiter(perSecond).consume(tenant).then(
      () => undefined,
      (rejection: unknown) => {
        if (rejection instanceof RateLimiterRes) throw new RateLimitedError(perSecond, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        throw rejection; // Redis trouble: the problem handler answers 503
      },
    );
  };
}

export function rateLimit(limit: RateLimiter): RequestHandler {
  return (req, _res, next) => {
    const counted = limit(req.tenant);
    if (!counted) return next();
    counted.then(() => next(), next);
  };
}
