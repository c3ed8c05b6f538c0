import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../openapi/routes.js';
import { allowedMethodsOf } from './allowed-methods.js';
import { CorsOriginsEnv, crossOrigin, EXPOSED_HEADERS, type CorsOrigins } from './cors.js';
import { answerOptions } from './options.js';

describe('CORS_ORIGINS', () => {
  const parse = (v: string | undefined) => CorsOriginsEnv.safeParse(v);
  it('is off unset or empty, any origin for *, else the origins listed (lower-cased, a trailing slash dropped)', () => {
    expect(parse(undefined)).toMatchObject({ success: true, data: undefined });
    expect(parse(' ')).toMatchObject({ success: true, data: undefined });
    expect(parse('*')).toMatchObject({ success: true, data: '*' });
    expect(parse('https://App.example.com, http://localhost:3000/')).toMatchObject({ success: true, data: ['https://app.example.com', 'http://localhost:3000'] });
  });
  it('refuses what is not an origin, naming it: paths, wildcards inside an origin, an empty list', () => {
    for (const bad of ['app.example.com', 'https://app.example.com/path', 'null', 'https://a.example, *', 'https://*.example.com', 'https://a.example?x=1']) {
      const r = parse(bad);
      expect(r.success, bad).toBe(false);
      expect(r.error!.issues[0]!.message).toMatch(/is not an origin \(scheme:\/\/host\[:port\], no path, no wildcard: list each one\)/);
    }
    expect(parse(',').error!.issues[0]!.message).toMatch(/names no origin/);
  });
  it('reads an origin as a browser sends it: no default port, and an extension\'s', () => {
    expect(parse('https://a.example:443,http://b.example:80,http://c.example:8080')).toMatchObject({ data: ['https://a.example', 'http://b.example', 'http://c.example:8080'] });
    expect(parse('chrome-extension://abcdefghijklmnop')).toMatchObject({ data: ['chrome-extension://abcdefghijklmnop'] });
  });
});

/** An app as createApp orders it: CORS, then a key check, then OPTIONS with Allow, then a route. */
async function serve(origins: CorsOrigins) {
  const allowed = allowedMethodsOf(ROUTES);
  const app = express();
  app.use(crossOrigin(origins, allowed));
  app.use((req, res, next) => (req.headers.authorization === 'Bearer k' ? next() : void res.status(401).json({ status: 401 })));
  app.use(answerOptions(allowed));
  app.post('/v1/jobs', (_req, res) => void res.status(202).setHeader('Location', '/v1/jobs/job_1').setHeader('X-Job-Id', 'job_1').json({ id: 'job_1' }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
}

describe('crossOrigin', () => {
  let listed: Awaited<ReturnType<typeof serve>>;
  let any: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    listed = await serve(['https://app.example.com']);
    any = await serve('*');
  });
  afterAll(async () => {
    await listed?.close();
    await any?.close();
  });
  const preflight = (base: string, origin: string, path = '/v1/jobs') => fetch(base + path, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, idempotency-key' },
  });

  it('answers a listed origin\'s preflight before the key is asked for: the path\'s methods, the headers asked, 10 minutes', async () => {
    const r = await preflight(listed.url, 'https://app.example.com');
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(r.headers.get('access-control-allow-methods')).toBe(allowedMethodsOf(ROUTES)('/v1/jobs')!.join(','));
    expect(r.headers.get('access-control-allow-headers')).toBe('authorization, content-type, idempotency-key');
    expect(r.headers.get('access-control-max-age')).toBe('600');
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
    expect(r.headers.get('vary')).toMatch(/Origin/);
  });

  it('marks a listed origin\'s answers, errors included, and exposes the headers clients read', async () => {
    const ok = await fetch(`${listed.url}/v1/jobs`, { method: 'POST', headers: { origin: 'https://app.example.com', authorization: 'Bearer k' } });
    expect(ok.status).toBe(202);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(ok.headers.get('access-control-expose-headers')).toBe(EXPOSED_HEADERS.join(','));
    const denied = await fetch(`${listed.url}/v1/jobs`, { method: 'POST', headers: { origin: 'https://app.example.com' } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });

  it('gives another origin, and a request without one, no CORS header: its preflight meets the key check', async () => {
    const r = await preflight(listed.url, 'https://evil.example');
    expect(r.status).toBe(401);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const plain = await fetch(`${listed.url}/v1/jobs`, { method: 'POST', headers: { authorization: 'Bearer k' } });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    expect(plain.headers.get('vary')).toMatch(/Origin/);
  });

  it('with *, answers any origin by its name (never a bare *, so no answer is cached for another)', async () => {
    const r = await preflight(any.url, 'http://localhost:5173');
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('leaves a plain OPTIONS (no Access-Control-Request-Method) to the usual answer with Allow', async () => {
    const r = await fetch(`${listed.url}/v1/jobs`, { method: 'OPTIONS', headers: { origin: 'https://app.example.com', authorization: 'Bearer k' } });
    expect(r.status).toBe(204);
    expect(r.headers.get('allow')).toBe(allowedMethodsOf(ROUTES)('/v1/jobs')!.join(', '));
    expect(r.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });
});
