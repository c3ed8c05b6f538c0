import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '@maas/shared';
import { checkPriority, limitsFor, rowsLimited, sharedRedisWarning, TenantQuotasEnv } from './limits.js';

const defaults = { rps: 10, queuedRows: 1000, priorityFloor: 50 };

describe('TenantQuotasEnv', () => {
  it('reads per-tenant JSON and refuses what it cannot use', () => {
    expect(TenantQuotasEnv.parse('')).toEqual({});
    expect(TenantQuotasEnv.parse('{"acme":{"rps":5,"queued_rows":0,"min_priority":1}}')).toEqual({ acme: { rps: 5, queued_rows: 0, min_priority: 1 } });
    expect(TenantQuotasEnv.safeParse('{acme}').success).toBe(false);
    expect(TenantQuotasEnv.safeParse('{"acme":{"rsp":5}}').success).toBe(false);
    expect(TenantQuotasEnv.safeParse('{"a b":{}}').success).toBe(false);
    expect(TenantQuotasEnv.safeParse('{"acme":{"rps":-1}}').success).toBe(false);
  });
});

describe('limitsFor', () => {
  it('takes the defaults unless the tenant overrides them', () => {
    const o = TenantQuotasEnv.parse('{"acme":{"queued_rows":0,"min_priority":1}}');
    expect(limitsFor('beta', defaults, o)).toEqual({ rps: 10, queuedRows: 1000, minPriority: 50 });
    expect(limitsFor('acme', defaults, o)).toEqual({ rps: 10, queuedRows: 0, minPriority: 1 });
  });

  it('keeps a ledger only when some tenant has a rows limit', () => {
    expect(rowsLimited({ ...defaults, queuedRows: 0 }, {})).toBe(false);
    expect(rowsLimited({ ...defaults, queuedRows: 0 }, { acme: { queued_rows: 5 } })).toBe(true);
    expect(rowsLimited(defaults, {})).toBe(true);
  });
});

describe('checkPriority', () => {
  it('reserves priorities below the floor to tenants allowed them', () => {
    const plain = limitsFor('beta', defaults, {});
    const vip = limitsFor('acme', defaults, { acme: { min_priority: 1 } });
    expect(() => checkPriority('beta', undefined, plain)).not.toThrow();
    expect(() => checkPriority('beta', 50, plain)).not.toThrow();
    expect(() => checkPriority('beta', 49, plain)).toThrow(ForbiddenError);
    expect(() => checkPriority('acme', 1, vip)).not.toThrow();
  });
});

describe('sharedRedisWarning', () => {
  const limits = (queued: Record<string, number>) => (t: string) => ({ rps: 0, queuedRows: queued[t] ?? 0, minPriority: 1 });
  it('names the tenants that may queue without limit, where two or more share Redis', () => {
    expect(sharedRedisWarning(['a', 'b', 'c'], limits({ b: 10 }), 4096)).toMatch(/^tenants a, c have no queued-rows quota .*BATCH_MAX_MB = 4096 MB/);
    expect(sharedRedisWarning(['a', 'b'], limits({ a: 1, b: 1 }), 4096)).toBeUndefined();
    expect(sharedRedisWarning(['a', 'a'], limits({}), 4096)).toBeUndefined(); // one tenant, two keys: nobody to share with
    expect(sharedRedisWarning([], limits({}), 4096)).toBeUndefined();
  });
});
