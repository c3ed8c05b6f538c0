import { connect, type AddressInfo } from 'node:net';
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
  it("answers what Node's parser refuses (headers too large, broken framing) as problem+json and closes the connection", async () => {
    const server = createHttpServer(express());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const raw = (request: string) => new Promise<string>((resolve, reject) => {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      let got = '';
      socket.on('data', (c: Buffer) => (got += c.toString()));
      socket.on('end', () => resolve(got));
      socket.on('error', reject);
      socket.end(request);
    });
    try {
      const big = await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(big).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
      expect(big).toMatch(/content-type: application\/problem\+json/i);
      expect(JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4))).toMatchObject({ type: 'about:blank', status: 431, error: expect.stringMatching(/exceed/) });
      const framing = await raw('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
      expect(framing).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(JSON.parse(framing.slice(framing.indexOf('\r\n\r\n') + 4))).toMatchObject({ type: 'about:blank', status: 400, title: 'Bad Request' });
      // What Node refuses once it has the request: no Host in HTTP/1.1, an Expect it does not meet
      const noHost = await raw('GET /v2/health/live HTTP/1.1\r\nConnection: close\r\n\r\n');
      expect(noHost).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(JSON.parse(noHost.slice(noHost.indexOf('\r\n\r\n') + 4))).toMatchObject({ type: 'about:blank', status: 400, detail: 'an HTTP/1.1 request needs a Host header' });
      const expectation = await raw('POST / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 0\r\n\r\n');
      expect(expectation).toMatch(/^HTTP\/1\.1 417 Expectation Failed\r\n/);
      expect(JSON.parse(expectation.slice(expectation.indexOf('\r\n\r\n') + 4))).toMatchObject({ type: 'about:blank', status: 417, error: expect.stringMatching(/Expect: foo/) });
      const old = await raw('GET /nope HTTP/1.0\r\n\r\n'); // HTTP/1.0 needs no Host: the app answers
      expect(old).toMatch(/^HTTP\/1\.1 404 /);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
  it('holds its headers timeout to the second (Node checks every 30 s unless told): a request whose headers never end is answered 408 soon after it', async () => {
    const server = createHttpServer(express());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.headersTimeout = 1000;
    server.requestTimeout = 2000;
    try {
      const t0 = performance.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
        let got = '';
        socket.on('data', (c: Buffer) => (got += c.toString()));
        socket.on('close', () => resolve(got));
        socket.on('error', reject);
        socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '); // the rest never comes
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      // 1 s timeout + at most one 1 s check, with room for a slow machine; Node's default check alone is 30 s
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, 20_000);
});
