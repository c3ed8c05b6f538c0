/**
 * PUBLIC_PATH behind a reverse proxy that serves the API under `/ml/` and strips the prefix
 * (as an ingress does, sending `X-Forwarded-Prefix`, which the API must not trust): every URL
 * the API hands out is followed through the proxy. A job's and a batch's Location (and a
 * webhook redelivery's), the OpenAPI
 * document's `servers`, and in Chromium the /admin status page (its data fetched, not
 * "unavailable") and the queue board (its files, its JSON, its queues listed).
 */
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually, rows, WebhookReceiver } from '../src/harness/index.js';

const CHROMIUM = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';
const ADMIN = 'admin-key-0123456789';
const PREFIX = '/ml';

/** A few lines of nginx's `location /ml/ { proxy_pass http://api/; }`: anything else is its 404. */
async function prefixProxy(target: URL): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith(`${PREFIX}/`)) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not under the prefix');
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: url.slice(PREFIX.length), headers: { ...req.headers, 'x-forwarded-prefix': PREFIX } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let cluster: Cluster;
let proxy: { server: Server; origin: string };
let browser: Browser | undefined;
let recv: WebhookReceiver;

beforeAll(async () => {
  cluster = await Cluster.start({
    workers: 1,
    api: { PUBLIC_PATH: `${PREFIX}/`, ADMIN_KEY: ADMIN, STATUS_SAMPLE_S: '1', WEBHOOK_ALLOW_PRIVATE: 'true' },
    worker: { WORKER_MODELS: 'mlp', WEBHOOK_ALLOW_PRIVATE: 'true' },
  });
  recv = await WebhookReceiver.start();
  proxy = await prefixProxy(new URL(cluster.url));
  if (existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
afterAll(async () => {
  await browser?.close();
  await recv?.close();
  if (proxy) {
    proxy.server.closeAllConnections();
    await new Promise((r) => proxy.server.close(r));
  }
  await cluster?.stop();
});

const job = (seed: number) => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(seed, 1, 32) }] });

describe('behind a proxy at a path prefix (PUBLIC_PATH)', () => {
  it("a job's Location, followed through the proxy, is the job", async () => {
    const created = await call(proxy.origin, 'POST', `${PREFIX}/v1/jobs`, job(1));
    expect(created.status).toBe(202);
    const location = created.headers.get('location')!;
    expect(location).toBe(`${PREFIX}/v1/jobs/${created.body.id}`);
    const done = await eventually(async () => (await call(proxy.origin, 'GET', location)), (r) => r.body.status === 'succeeded', { what: 'the job through its Location' });
    expect(done.status).toBe(200);
    expect(done.body.id).toBe(created.body.id);
  });

  it("a batch's Location and its webhook redelivery's, followed through the proxy, are the batch and its history", async () => {
    const lines = [1, 2, 3].map((i) => JSON.stringify({ custom_id: `r-${i}`, inputs: { input: rows(i, 1, 32)[0] } })).join('\n');
    const res = await fetch(`${proxy.origin}${PREFIX}/v1/batches?model=mlp&webhook=${encodeURIComponent(recv.url)}`, { method: 'POST', body: lines, headers: { 'content-type': 'application/x-ndjson' } });
    const batch = (await res.json()) as { id: string };
    expect(res.status).toBe(202);
    const location = res.headers.get('location')!;
    expect(location).toBe(`${PREFIX}/v1/batches/${batch.id}`);
    const read = await call(proxy.origin, 'GET', `${location}?wait=20`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ object: 'batch', id: batch.id, counts: { total: 3 } });

    const history = `${PREFIX}/v1/batches/${batch.id}/webhooks`;
    const sent = await eventually(() => call(proxy.origin, 'GET', history), (r) => r.body.data?.[0]?.status === 'delivered', { what: 'the batch webhook delivered' });
    const again = await call(proxy.origin, 'POST', `${history}/${sent.body.data[0].id}/redeliver`);
    expect(again.status).toBe(202);
    expect(again.headers.get('location')).toBe(history);
    expect((await call(proxy.origin, 'GET', again.headers.get('location')!)).body).toMatchObject({ object: 'list' });
  });

  it("the OpenAPI document's server is the prefix: its paths under it reach the API", async () => {
    const doc = await call(proxy.origin, 'GET', `${PREFIX}/openapi.json`);
    expect(doc.body.servers).toEqual([{ url: PREFIX, description: expect.any(String) }]);
    expect((await call(proxy.origin, 'GET', `${doc.body.servers[0].url}/v1/models`)).status).toBe(200);
  });

  it.skipIf(!existsSync(CHROMIUM))('the status page shows the status, and its link opens the queue board, which lists the queues', async () => {
    const ctx = await browser!.newContext({ httpCredentials: { username: 'admin', password: ADMIN } });
    const page = await ctx.newPage();
    // Every request to the proxy answered (a root-absolute URL is the proxy's 404); the board's
    // Google Fonts link is refused by its policy and never leaves.
    const failed: string[] = [];
    page.on('response', (r) => { if (r.url().startsWith(proxy.origin) && r.status() >= 400) failed.push(`${r.url()}: ${r.status()}`); });
    page.on('pageerror', (e) => failed.push(String(e)));
    expect((await page.goto(`${proxy.origin}${PREFIX}/admin`))!.status()).toBe(200);
    await expect.poll(() => page.locator('#models tbody').textContent(), { timeout: 10_000 }).toContain('mlp');
    await expect.poll(() => page.locator('#updated').textContent()).not.toBe('…');
    expect(await page.locator('#stale').isVisible()).toBe(false);

    await page.getByText('Queue board →').click();
    await page.waitForURL(`${proxy.origin}${PREFIX}/admin/queues`);
    await expect.poll(() => page.locator('body').textContent(), { timeout: 15_000 }).toContain('infer-mlp-v1');
    expect(failed).toEqual([]);
    await ctx.close();
  });
});
