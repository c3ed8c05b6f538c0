import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { createHttpServer } from './server.js';

describe('createHttpServer', () => {
  it("makes requests and responses with the app's prototypes before express sees them; express works on them as usual", async () => {
    const app = express();
    app.use(express.json());
    app.post('/echo', (req, res) => {
      res.status(201).set('X-Seen', req.get('x-probe') ?? '').json({ body: req.body, path: req.path });
    });
    const server = createHttpServer(app);
    const seen: boolean[] = [];
    server.prependListener('request', (req, res) => seen.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/echo?q=1`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-probe': 'yes' }, body: '{"a":[1,2]}' });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-seen')).toBe('yes');
      expect(await res.json()).toEqual({ body: { a: [1, 2] }, path: '/echo' });
      expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
      expect(seen).toEqual([true, true]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
