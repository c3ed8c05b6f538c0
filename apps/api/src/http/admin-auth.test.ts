import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { type AppError } from '@maas/shared';
import { adminAuth, isAdminKey, isModelRead, repositoryControl } from './admin-auth.js';
import { presentedKey } from './auth.js';

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
    // No key at all is a 401, as on every route once keys are set (CONTRACT §4).
    const bare = run(adminAuth(undefined, true))!;
    expect(bare.status).toBe(401);
    expect(bare.detail).toMatch(/set ADMIN_KEY/);
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

describe('repositoryControl (loading and unloading models)', () => {
  const keys = new Map([['tenant-key-a', 'a']]);
  it('is open while neither key is set, as Triton is', () => {
    expect(repositoryControl(undefined, undefined)(undefined)).toBe('open');
    expect(repositoryControl(undefined, new Map())('Bearer anything')).toBe('open');
  });
  it('with API_KEYS but no ADMIN_KEY, is closed to every key (a tenant key changes no model of the others)', () => {
    const refused = repositoryControl(undefined, keys)('Bearer tenant-key-a') as AppError;
    expect(refused.status).toBe(403);
    expect(refused.detail).toMatch(/set ADMIN_KEY/);
    expect((repositoryControl(undefined, keys)(undefined) as AppError).status).toBe(401);
  });
  it('with ADMIN_KEY: that key (Bearer or Basic) is admin; a tenant key is a 403 that says why; anything else a 401', () => {
    const access = repositoryControl('admin-key-0123456789', keys);
    expect(access('Bearer admin-key-0123456789')).toBe('admin');
    expect(access(basic('x', 'admin-key-0123456789'))).toBe('admin');
    const tenant = access('Bearer tenant-key-a') as AppError;
    expect(tenant.status).toBe(403);
    expect(tenant.detail).toMatch(/a tenant key cannot load or unload a model/);
    expect((access('Bearer guess') as AppError).status).toBe(401);
    expect((access(undefined) as AppError).status).toBe(401);
    expect(repositoryControl('admin-key-0123456789', undefined)(undefined)).toBeInstanceOf(Error); // ADMIN_KEY alone guards it too, as /admin
  });
});

describe('isModelRead (what ADMIN_KEY may read beside /admin)', () => {
  const req = (method: string, path: string) => ({ method, path }) as Request;
  it('takes model metadata, readiness, configuration, statistics, the listings and the index', () => {
    for (const [m, p] of [
      ['GET', '/v2'], ['GET', '/v2/models/mlp'], ['GET', '/v2/models/mlp/versions/1'], ['GET', '/v2/models/mlp/ready'], ['GET', '/v2/models/mlp/versions/1/config'],
      ['GET', '/v2/models/stats'], ['GET', '/v2/models/mlp/stats'], ['GET', '/v1/models'], ['GET', '/v1/models/mlp'], ['POST', '/v2/repository/index'],
      // HEAD, which express serves with each GET, and paths in any case, as express routes them
      ['HEAD', '/v1/models'], ['GET', '/V1/MODELS'], ['GET', '/v2/Models/mlp/READY'], ['POST', '/V2/repository/INDEX'],
    ]) {
      expect(isModelRead(req(m!, p!)), `${m} ${p}`).toBe(true);
    }
  });
  it('takes nothing that runs or reads a tenant\'s work', () => {
    for (const [m, p] of [
      ['POST', '/v2/models/mlp/infer'], ['POST', '/v1/jobs'], ['GET', '/v1/jobs/job_x'], ['GET', '/v1/batches/b'], ['POST', '/v1/batches'], ['GET', '/v1/webhooks/secret'],
      ['POST', '/v2/repository/models/mlp/load'], ['GET', '/v2/models/mlp/infer'], ['POST', '/v2/models/mlp'], ['HEAD', '/v1/jobs/job_x'], ['GET', '/V1/JOBS/job_x'],
    ]) {
      expect(isModelRead(req(m!, p!)), `${m} ${p}`).toBe(false);
    }
  });
});

describe('isAdminKey', () => {
  it('is the admin key as Bearer or Basic, and never anything while ADMIN_KEY is unset', () => {
    expect(isAdminKey('admin-key-0123456789')('Bearer admin-key-0123456789')).toBe(true);
    expect(isAdminKey('admin-key-0123456789')(basic('u', 'admin-key-0123456789'))).toBe(true);
    expect(isAdminKey('admin-key-0123456789')('Bearer other')).toBe(false);
    expect(isAdminKey(undefined)('Bearer anything')).toBe(false);
    expect(isAdminKey(undefined)(undefined)).toBe(false);
  });
});
