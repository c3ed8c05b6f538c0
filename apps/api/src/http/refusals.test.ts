import { describe, expect, it } from 'vitest';
import { AppError, QueueFullError, QuotaExceededError, RateLimitedError, ValidationError } from '@maas/shared';
import { NO_TENANT, refusalOf } from './refusals.js';

describe('refusalOf', () => {
  it('labels every 429 by its problem type and the tenant', () => {
    expect(refusalOf(new QuotaExceededError('acme', 5, 5, 1), 'acme')).toEqual({ reason: 'quota-exceeded', tenant: 'acme' });
    expect(refusalOf(new RateLimitedError(3, 1), 'etl')).toEqual({ reason: 'rate-limited', tenant: 'etl' });
    expect(refusalOf(new QueueFullError('penguins', 10, 1), undefined)).toEqual({ reason: 'queue-full', tenant: NO_TENANT });
  });

  it('counts no other answer', () => {
    expect(refusalOf(new ValidationError([{ path: 'x', message: 'bad' }]), 'acme')).toBeUndefined();
    expect(refusalOf(new AppError('forbidden', 'no'), 'acme')).toBeUndefined();
    expect(refusalOf(new AppError('model-not-ready', 'later'), 'acme')).toBeUndefined();
  });
});
