import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { type AppError } from '@maas/shared';
import { adminAuth, presentedKey } from './admin-auth.js';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** What the middleware passes to next(): undefined (allowed) or the error. */
function run(handler: ReturnType<typeof adminAuth>, authorization?: string): AppError | undefined {
  let out: unknown = 'not called';
  handler({ headers: authorization ? { authorization } : {} } as Request, {} as Response, ((e?: unknown) => (out = e)) as NextFunction);
  return out as AppError | undefined;
}

describe('presentedKey', () => {
  it('reads Bearer tokens and Basic passwords', () => {
    expect(presentedKey('Bearer abc')).toBe('abc');
    expect(presentedKey(basic('admin', 'p:w'))).toBe('p:w');
    expect(presentedKey('Basic !!!')).toBeUndefined();
    expect(presentedKey(undefined)).toBeUndefined();
  });
});

describe('adminAuth', () => {
  it('is open without ADMIN_KEY only while API_KEYS is unset', () => {
    expect(run(adminAuth(undefined, false))).toBeUndefined();
    expect(run(adminAuth(undefined, true), 'Bearer tenant-key')?.status).toBe(403);
  });

  it('with ADMIN_KEY, opens for that key only, and asks the browser for it', () => {
    const h = adminAuth('admin-key-0123456789', true);
    expect(run(h, 'Bearer admin-key-0123456789')).toBeUndefined();
    expect(run(h, basic('anyone', 'admin-key-0123456789'))).toBeUndefined();
    const denied = run(h, 'Bearer tenant-key')!;
    expect(denied.status).toBe(401);
    expect(denied.headers['WWW-Authenticate']).toMatch(/^Basic /);
    expect(run(h)?.status).toBe(401);
  });
});
