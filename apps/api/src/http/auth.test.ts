import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { UnauthorizedError, type AppError } from '@maas/shared';
import { authenticate, oneCredential, repeatsAuthorization, tenantResolver } from './auth.js';

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

  it('takes the key as the password of Basic auth, any user name (tritonclient\'s BasicAuth plugin)', () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    expect(resolve(basic('a', 'key-a'))).toBe('a');
    expect(resolve(basic('anyone', 'key-a'))).toBe('a');
    expect(thrown(() => resolve(basic('a', 'wrong'))).detail).toBe('API key not recognised');
  });

  it('challenges a request without a token with a bare Bearer, one with a token not recognised with invalid_token (RFC 6750 §3)', () => {
    for (const none of [undefined, '', 'Basic a2V5LWE=' /* "key-a": no colon, no password */, 'Bearer']) {
      expect(thrown(() => resolve(none)).headers, String(none)).toEqual({ 'WWW-Authenticate': 'Bearer' });
    }
    const wrong = thrown(() => resolve('Bearer wrong'));
    expect(wrong).toBeInstanceOf(UnauthorizedError);
    expect(wrong.detail).toBe('API key not recognised');
    expect(wrong.headers).toEqual({ 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  });
});

describe('repeatsAuthorization', () => {
  it('finds a second Authorization header, in any case, among the raw headers', () => {
    expect(repeatsAuthorization(['Host', 'x', 'Authorization', 'Bearer a'])).toBe(false);
    expect(repeatsAuthorization(['authorization', 'Bearer a', 'Accept', '*/*', 'AUTHORIZATION', 'Bearer b'])).toBe(true);
    expect(repeatsAuthorization(['Authorization-X', 'a', 'Authorization', 'b'])).toBe(false);
  });
});

describe('oneCredential', () => {
  const run = (rawHeaders: string[]) => {
    let err: unknown;
    oneCredential()({ rawHeaders } as unknown as Request, {} as Response, (e?: unknown) => (err = e));
    return err as AppError | undefined;
  };
  it('refuses two credentials with a 400 invalid_request (RFC 6750 §3.1), even when the first is valid', () => {
    const err = run(['Authorization', 'Bearer key-a', 'Authorization', 'Bearer other']);
    expect(err).toMatchObject({ status: 400, headers: { 'WWW-Authenticate': 'Bearer error="invalid_request"' } });
    expect(err!.detail).toMatch(/one Authorization header/);
    expect(run(['Authorization', 'Bearer key-a'])).toBeUndefined();
  });
});

describe('authenticate', () => {
  const run = (rawHeaders: string[], keys = new Map([['key-a', 'a']])) => {
    const req = { rawHeaders, headers: { authorization: rawHeaders[1] } } as unknown as Request;
    let err: unknown;
    authenticate(keys)(req, {} as Response, (e?: unknown) => (err = e));
    return { req, err: err as AppError | undefined };
  };
  it("sets the key's tenant", () => {
    expect(run(['Authorization', 'Bearer key-a']).req.tenant).toBe('a');
  });
  it('reads no key in open mode', () => {
    const { req, err } = run(['Authorization', 'Bearer not-a-key'], new Map());
    expect(err).toBeUndefined();
    expect(req.tenant).toBe('default');
  });
});
