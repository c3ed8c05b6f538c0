import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { series, underPath } from './compose.js';

/** A real express app: each case's steps in one `series`, its errors answered as `500 <message>`. */
describe('series and underPath, in an express app', () => {
  let url = '';
  let close = () => {};
  const mark = (name: string): RequestHandler => (req, _res, next) => {
    ((req as unknown as { seen: string[] }).seen ??= []).push(name);
    next();
  };
  beforeAll(async () => {
    const app = express();
    app.use('/ok', series(mark('a'), mark('b'), (req, _res, next) => setImmediate(next)));
    app.use('/stop', series(mark('a'), (_req, res) => void res.send('answered'), mark('never')));
    app.use('/err', series(mark('a'), (_req, _res, next) => next(new Error('passed')), mark('never')));
    app.use('/throw', series(() => {
      throw new Error('thrown');
    }));
    app.use('/reject', series(async () => {
      throw new Error('rejected');
    }));
    const admin = express.Router();
    admin.get('/admin/page', (req, res) => void res.send(`page ${req.url}`));
    app.use(underPath('/admin', series(mark('admin'), admin)));
    app.use((req, res) => void res.send(`end ${((req as unknown as { seen?: string[] }).seen ?? []).join(',')}`));
    app.use(((err: Error, _req, res, _next) => void res.status(500).send(`500 ${err.message}`)) as ErrorRequestHandler);
    const server = app.listen(0);
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close());
  const get = async (path: string) => (await fetch(url + path)).text();

  it('runs the steps in order, then goes on; a step may call next later', async () => {
    expect(await get('/ok')).toBe('end a,b');
  });
  it('ends where a step answers', async () => {
    expect(await get('/stop')).toBe('answered');
  });
  it('hands an error passed, thrown or rejected to the error handlers', async () => {
    expect(await get('/err')).toBe('500 passed');
    expect(await get('/throw')).toBe('500 thrown');
    expect(await get('/reject')).toBe('500 rejected');
  });
  it('underPath: the prefix itself, below it, with a query or in other letter case; not a longer name', async () => {
    expect(await get('/admin/page')).toBe('page /admin/page'); // the URL left whole
    expect(await get('/ADMIN/page')).toBe('page /ADMIN/page');
    expect(await get('/admin')).toBe('end admin');
    expect(await get('/admin?x=1')).toBe('end admin');
    expect(await get('/administrator')).toBe('end ');
    expect(await get('/v1/admin')).toBe('end ');
  });
  it('underPath: a request target in absolute form (http://host/admin), as express routes it', async () => {
    const { request } = await import('node:http');
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(url, { path: `${url}/admin/page`, method: 'GET' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer).toBe(`page ${url}/admin/page`);
  });
});
