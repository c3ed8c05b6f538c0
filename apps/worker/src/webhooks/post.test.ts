import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCERPT_CHARS, postWebhook } from './post.js';

interface Seen {
  host: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let port: number;
const seen: Seen[] = [];
const sockets = new Set<Socket>();
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('ok');

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ host: req.headers.host, headers: req.headers, body });
      handler(req, res);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

const lax = { timeoutMs: 2000, policy: { allowPrivate: true } };

describe('postWebhook', () => {
  it('POSTs the exact body and headers, and reports status and a short excerpt', async () => {
    handler = (_req, res) => res.writeHead(202).end('x'.repeat(1000));
    const body = JSON.stringify({ type: 'job.start', data: { note: 'naïve ✓' } });
    const out = await postWebhook(`http://127.0.0.1:${port}/hook?a=1`, body, { 'webhook-id': 'msg_1' }, lax);
    expect(out).toMatchObject({ status: 202, excerpt: 'x'.repeat(EXCERPT_CHARS) });
    expect(out.durationMs).toBeGreaterThanOrEqual(0);
    const last = seen.at(-1)!;
    expect(last.body).toBe(body);
    expect(last.headers['webhook-id']).toBe('msg_1');
    expect(last.headers['content-type']).toBe('application/json');
    expect(Number(last.headers['content-length'])).toBe(Buffer.byteLength(body));
  });

  it('connects to the checked address while keeping the name in Host', async () => {
    handler = (_req, res) => res.end();
    const lookup = async () => [{ address: '127.0.0.1', family: 4 }];
    const out = await postWebhook(`http://hooks.example:${port}/x`, '{}', {}, { ...lax, lookup });
    expect(out.status).toBe(200);
    expect(seen.at(-1)!.host).toBe(`hooks.example:${port}`);
  });

  it('reads Retry-After on 429 and 503 only', async () => {
    handler = (_req, res) => res.writeHead(429, { 'retry-after': '2' }).end('slow down');
    expect(await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, lax)).toMatchObject({ status: 429, retryAfterMs: 2000, excerpt: 'slow down' });
    handler = (_req, res) => res.writeHead(500, { 'retry-after': '2' }).end();
    const out = await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, lax);
    expect(out.status).toBe(500);
    expect(out.retryAfterMs).toBeUndefined();
  });

  it('does not follow redirects', async () => {
    handler = (_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
    expect((await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, lax)).status).toBe(302);
  });

  it('gives up after the timeout when the receiver never answers', async () => {
    handler = () => {}; // black hole: reads the request, never answers
    const t0 = Date.now();
    const out = await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, { ...lax, timeoutMs: 300 });
    expect(out).toMatchObject({ status: null, error: 'no answer within 300 ms', failure: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a receiver that answers at once but trickles its body: its status is the outcome, the excerpt what came in time', async () => {
    const trickle = (status: number) => (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.flushHeaders();
      const t = setInterval(() => res.write('.'), 100); // a byte every 100 ms, never ending
      res.on('close', () => clearInterval(t));
    };
    handler = trickle(200);
    const t0 = Date.now();
    const ok = await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, { ...lax, timeoutMs: 450 });
    expect(ok.status).toBe(200);
    expect(ok.error).toBeUndefined();
    expect(ok.excerpt).toMatch(/^\.{1,5}$/);
    expect(Date.now() - t0).toBeLessThan(1500);
    handler = trickle(503);
    expect(await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, { ...lax, timeoutMs: 300 })).toMatchObject({ status: 503 });
    // the connection was dropped: the receiver is not left writing into it
    await expect.poll(() => sockets.size, { timeout: 2000 }).toBe(0);
  });

  it('reports a refused connection', async () => {
    const out = await postWebhook('http://127.0.0.1:1/', '{}', {}, lax);
    expect(out.status).toBeNull();
    expect(out.error).toMatch(/ECONNREFUSED/);
  });

  it('refuses private targets unless allowed, without connecting', async () => {
    const before = seen.length;
    const strict = { timeoutMs: 2000, policy: { allowPrivate: false } };
    const direct = await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, strict);
    expect(direct.error).toMatch(/loopback/);
    const lookup = async () => [{ address: '127.0.0.1', family: 4 }];
    const viaDns = await postWebhook(`http://rebind.example:${port}/`, '{}', {}, { ...strict, lookup });
    expect(viaDns).toMatchObject({ status: null, failure: 'refused', error: expect.stringMatching(/^refused: rebind.example resolves only to non-public addresses \(loopback\)/) });
    expect(seen.length).toBe(before);
  });
});
