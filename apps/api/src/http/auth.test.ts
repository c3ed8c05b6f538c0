import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '@maas/shared';
import { tenantResolver } from './auth.js';

const thrown = (f: () => unknown): UnauthorizedError => {
  try {
    f();
  } catch (err) {
    return err as UnauthorizedError;
  }
  throw new Error('expected a throw');
};

describe('tenantResolver', () => {
  const resolve = tenantResolver(new Map([['key-a', 'a']]));

  it('names the tenant of a known key', () => {
    expect(resolve('Bearer key-a')).toBe('a');
    expect(tenantResolver(undefined)(undefined)).toBe('default');
  });

  it('challenges a request without a token with a bare Bearer, one with a token not recognised with invalid_token (RFC 6750 §3)', () => {
    for (const none of [undefined, '', 'Basic a2V5LWE=', 'Bearer']) {
      expect(thrown(() => resolve(none)).headers, String(none)).toEqual({ 'WWW-Authenticate': 'Bearer' });
    }
    const wrong = thrown(() => resolve('Bearer wrong'));
    expect(wrong).toBeInstanceOf(UnauthorizedError);
    expect(wrong.detail).toBe('API key not recognised');
    expect(wrong.headers).toEqual({ 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  });
});
