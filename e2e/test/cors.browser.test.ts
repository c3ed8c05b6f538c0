/**
 * A web page on another origin calling the API from a real browser (Debian's `chromium`,
 * driven by playwright-core), with an API key, as a front end does: with its origin in
 * `CORS_ORIGINS` the browser's preflight is answered before any key is asked for, and the page
 * reads the answers and the headers it needs (`Location`, `X-Job-Id`); a page on an origin not
 * listed gets nothing (the browser refuses it), while the API answers non-browser clients as
 * before. Two small static servers on two ports are the two origins.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, pageServer, type PageServer } from '../src/harness/index.js';

const CHROMIUM = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';
const KEY = 'key-front';

describe.skipIf(!existsSync(CHROMIUM))('a browser page on another origin (CORS)', () => {
  let cluster: Cluster;
  let browser: Browser;
  let allowed: PageServer;
  let other: PageServer;

  beforeAll(async () => {
    allowed = await pageServer();
    other = await pageServer();
    cluster = await Cluster.start({ workers: 1, api: { API_KEYS: `front:${KEY}`, CORS_ORIGINS: `${allowed.origin},https://app.example.com` }, worker: { WORKER_MODELS: 'penguins' } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
    allowed?.server.close();
    other?.server.close();
  });

  /** Runs, in a page of `origin`, a v2 infer and a waited job with the key; what the page could read. */
  async function fromPage(origin: string) {
    const page = await browser.newPage();
    try {
      await page.goto(origin);
      return await page.evaluate(async ({ api, key }) => {
        const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
        const inputs = [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] }];
        try {
          const infer = await fetch(`${api}/v2/models/penguins/infer`, { method: 'POST', headers, body: JSON.stringify({ inputs }) });
          const job = await fetch(`${api}/v1/jobs`, { method: 'POST', headers: { ...headers, prefer: 'wait=20', 'idempotency-key': `page-${Date.now()}` }, body: JSON.stringify({ model: 'penguins', inputs }) });
          type Answer = { id: string; type: string; outputs: { name: string; data: unknown[] }[] };
          const body = (await job.json()) as Answer;
          const missing = await fetch(`${api}/v1/jobs/job_nope`, { headers });
          return {
            infer: { status: infer.status, outputs: ((await infer.json()) as Answer).outputs.map((o) => o.name), xJobId: infer.headers.get('x-job-id') },
            job: { status: job.status, id: body.id, location: job.headers.get('location'), label: body.outputs.find((o) => o.name === 'label')!.data },
            missing: { status: missing.status, type: ((await missing.json()) as Answer).type },
          };
        } catch (err) {
          return { error: String(err) };
        }
      }, { api: cluster.url, key: KEY });
    } finally {
      await page.close();
    }
  }

  it('a listed origin\'s page calls the API with its key and reads answers, errors and the headers it needs', async () => {
    const r = await fromPage(allowed.origin);
    expect(r).not.toHaveProperty('error');
    const ok = r as Exclude<typeof r, { error: string }>;
    expect(ok.infer).toEqual({ status: 200, outputs: expect.arrayContaining(['probabilities', 'label']), xJobId: expect.stringMatching(/^job_/) });
    expect(ok.job).toMatchObject({ status: 200, label: [0] }); // class 0: Adelie
    expect(ok.job.location).toBe(`/v1/jobs/${ok.job.id}`);
    expect(ok.missing).toEqual({ status: 404, type: expect.stringMatching(/not-found$/) });
  });

  it('a page on an origin not listed is refused by the browser; other clients are served as before', async () => {
    const r = await fromPage(other.origin);
    expect(r).toEqual({ error: expect.stringMatching(/Failed to fetch/) });
    const plain = await call(cluster.url, 'GET', '/v2/models/penguins', undefined, { authorization: `Bearer ${KEY}` });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${cluster.url}/v1/jobs`, { method: 'OPTIONS', headers: { origin: other.origin, 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(401);
  });
});

describe.skipIf(!existsSync(CHROMIUM))('a page on another site posting to load or unload (cross-site request forgery)', () => {
  const ADMIN = 'admin-key-0123456789abcdef';
  let cluster: Cluster;
  let browser: Browser;
  let evil: PageServer;

  beforeAll(async () => {
    cluster = await Cluster.start({ workers: 0, api: { API_KEYS: `front:${KEY}`, ADMIN_KEY: ADMIN } });
    // The other site's page: a form that posts itself to the API's unload route.
    evil = await pageServer(`<!doctype html><form id=f method=POST action="${cluster.url}/v2/repository/models/penguins/unload"></form><script>f.submit()</script>`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
    evil?.server.close();
  });

  it("is refused, though the operator's browser holds the admin key it typed into /admin's prompt", async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: ADMIN } });
    try {
      const page = await context.newPage();
      expect((await page.goto(`${cluster.url}/admin`))?.status()).toBe(200); // logged in
      const posted = page.waitForResponse((r) => r.url().endsWith('/unload'));
      await page.goto(evil.origin);
      const answer = await posted;
      expect(answer.status()).toBe(403);
      expect(await answer.text()).toMatch(/from another site's page is refused/);
    } finally {
      await context.close();
    }
    // Still served, for every tenant; and the admin unloads it with its key as a client does.
    expect((await call(cluster.url, 'GET', '/v2/models/penguins', undefined, { authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect((await call(cluster.url, 'POST', '/v2/repository/models/penguins/unload', {}, { authorization: `Basic ${Buffer.from(`ops:${ADMIN}`).toString('base64')}` })).status).toBe(200);
  });
});
