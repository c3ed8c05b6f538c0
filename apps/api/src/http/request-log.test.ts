import express from 'express';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLog, echoRequestId, installRequestLog, loggableUrl } from './request-log.js';

const lines: Record<string, any>[] = [];
const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
const log = pino({ level: 'debug' }, sink);
let server: ReturnType<express.Express['listen']>;
let url = '';

beforeAll(async () => {
  const app = express();
  installRequestLog(app, log);
  app.use(accessLog());
  app.use(echoRequestId());
  app.get('/says', (req, res) => { req.log.warn('hello'); res.send(req.id); });
  app.get('/silent', (_req, res) => { res.status(404).send('no'); });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

describe('request log', () => {
  it('binds a line to the X-Request-Id given, or to a fresh UUID, with method and URL', async () => {
    lines.length = 0;
    expect(await (await fetch(`${url}/says?x=1`, { headers: { 'x-request-id': 'abc-123' } })).text()).toBe('abc-123');
    const mine = await (await fetch(`${url}/says`)).text();
    expect(mine).toMatch(/^[0-9a-f-]{36}$/);
    const hello = lines.filter((l) => l.msg === 'hello');
    expect(hello.map((l) => l.req)).toEqual([{ id: 'abc-123', method: 'GET', url: '/says?x=1' }, { id: mine, method: 'GET', url: '/says' }]);
  });

  it('logs an X-Request-Id no answer could carry (spaces, past 200 characters) as a fresh UUID, never as sent', async () => {
    for (const given of ['two words', 'x'.repeat(201)]) {
      const id = await (await fetch(`${url}/says`, { headers: { 'x-request-id': given } })).text();
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("sends a client's own X-Request-Id back on its answer, none it did not send, none a header cannot carry or past 200 characters", async () => {
    const echoed = async (id?: string) => (await fetch(`${url}/silent`, id === undefined ? {} : { headers: { 'x-request-id': id } })).headers.get('x-request-id');
    expect(await echoed('abc-123')).toBe('abc-123');
    expect(await echoed()).toBeNull();
    expect(await echoed('two words')).toBeNull();
    expect(await echoed('x'.repeat(201))).toBeNull();
    expect(await echoed('x'.repeat(200))).toBe('x'.repeat(200));
  });

  it('writes an access line per request at debug, at info for 4xx', async () => {
    lines.length = 0;
    await fetch(`${url}/silent`);
    await new Promise((r) => setTimeout(r, 20));
    const access = lines.find((l) => l.msg === 'request completed');
    expect(access).toMatchObject({ level: 30, res: { status: 404 }, req: { method: 'GET', url: '/silent' } });
  });
});

describe('loggableUrl', () => {
  it('redacts a webhook= query value (its path or query is often the hook\'s credential), and leaves the rest', () => {
    const hook = encodeURIComponent('https://hooks.example.com/services/T0/B0/SLACK-TOKEN-SECRET');
    expect(loggableUrl(`/v1/batches?model=mlp&webhook=${hook}&version=1`)).toBe('/v1/batches?model=mlp&webhook=[redacted]&version=1');
    expect(loggableUrl(`/v1/batches?webhook=${hook}`)).toBe('/v1/batches?webhook=[redacted]');
    expect(loggableUrl(`/v1/batches?WEBHOOK=a&webhook=b`)).toBe('/v1/batches?WEBHOOK=[redacted]&webhook=[redacted]');
    expect(loggableUrl('/v1/batches?model=mlp')).toBe('/v1/batches?model=mlp');
    expect(loggableUrl('/v1/webhook=x')).toBe('/v1/webhook=x'); // a path, not a query
  });

  it('is what a request\'s log line carries', async () => {
    lines.length = 0;
    await fetch(`${url}/says?model=m&webhook=${encodeURIComponent('https://h.example/SECRET')}`);
    const hello = lines.find((l) => l.msg === 'hello');
    expect(hello?.req.url).toBe('/says?model=m&webhook=[redacted]');
    expect(JSON.stringify(lines)).not.toMatch(/SECRET/);
  });
});
