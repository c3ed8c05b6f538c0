/**
 * The /admin status page and the /admin/queues board in headless Chromium (Debian's
 * `chromium`, driven by playwright-core): what a person sees — models with their workers
 * (device / provider), queue depth and oldest age, recent failures, a throughput chart — and
 * that the page refreshes by itself. Takes a screenshot: with MAAS_UPDATE_SCREENSHOTS=1 it
 * replaces the one in the README (docs/dashboard.png), else it goes to the temp folder, so a
 * test run leaves the work tree clean. /admin for a screen reader and a keyboard: axe-core's WCAG
 * 2.2 A and AA rules, rows kept while read, updates that pause, changes said, reflow at 320 px.
 * Runs the open mode (no API_KEYS) with ADMIN_KEY and WEBHOOK_SECRET,
 * which also covers the open tenant's configured secret.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axe from 'axe-core';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, REPO_ROOT, rows } from '../src/harness/index.js';

const CHROMIUM = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';
const ADMIN = 'admin-key-0123456789';
const SCREENSHOT = process.env['MAAS_UPDATE_SCREENSHOTS'] === '1' ? join(REPO_ROOT, 'docs/dashboard.png') : join(tmpdir(), 'maas-dashboard.png');
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

let cluster: Cluster;
let browser: Browser;

describe.skipIf(!existsSync(CHROMIUM))('dashboard in a real browser', () => {
  beforeAll(async () => {
    cluster = await Cluster.start({ workers: 1, api: { ADMIN_KEY: ADMIN, WEBHOOK_SECRET: SECRET, STATUS_SAMPLE_S: '1' }, worker: { WORKER_MODELS: 'mlp', WEBHOOK_SECRET: SECRET } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => call(cluster.url, 'POST', path, body, headers);
  const mlp = (seed: number, extra: Record<string, unknown> = {}) => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 32], data: rows(seed, 2, 32) }], ...extra });
  const penguin = { model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39, 18, 181, 3750] }] };

  it('keeps /admin for the admin key', async () => {
    // (a browser without the key shows its login prompt; headless Chromium fails the navigation instead)
    const ctx = await browser.newContext();
    const denied = await ctx.request.get(`${cluster.url}/admin`);
    expect(denied.status()).toBe(401);
    expect(denied.headers()['www-authenticate']).toMatch(/^Basic realm=/);
    expect((await ctx.request.get(`${cluster.url}/admin/queues`)).status()).toBe(401);
    await ctx.close();
  });

  it('the queue board moves no job by hand, even for the admin key (read-only: retries too)', async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const queues = await call(cluster.url, 'GET', '/admin/queues/api/queues', undefined, auth);
    expect(queues.status).toBe(200);
    const mlpQueue = (queues.body.queues as { name: string; readOnlyMode: boolean; allowRetries: boolean }[]).find((q) => q.name.includes('infer-mlp-v1'))!;
    expect(mlpQueue).toMatchObject({ readOnlyMode: true, allowRetries: false });
    for (const [method, action] of [['PUT', 'retry/failed'], ['PUT', 'pause'], ['PUT', 'empty'], ['PUT', 'clean/completed'], ['POST', 'add']]) {
      const write = await call(cluster.url, method!, `/admin/queues/api/queues/${encodeURIComponent(mlpQueue.name)}/${action}`, {}, auth);
      expect(write.status, action).toBe(405);
      expect(write.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
      expect(write.body).toMatchObject({ type: 'urn:maas:problem:method-not-allowed', status: 405 }); // our problem, not bull-board's own body
    }
  });

  it("the queue board shows a job's shape, never its values, metadata or webhook URL's path", async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const done = await post('/v1/jobs', mlp(900, { metadata: { patient: 'John Doe' }, webhook: 'https://hooks.example.com/in/abc?token=s3cret' }), { Prefer: 'wait=20' });
    expect(done.body.status).toBe('succeeded');
    const page = await call(cluster.url, 'GET', `/admin/queues/api/queues?activeQueue=${encodeURIComponent('{infer-mlp-v1}')}&status=completed&page=1`, undefined, auth);
    expect(page.status).toBe(200);
    const job = (page.body.queues as { name: string; jobs: { id: string; data: any; returnValue: any }[] }[]).flatMap((q) => q.jobs).find((j) => j.id === done.body.id);
    expect(job, JSON.stringify(page.body).slice(0, 500)).toBeDefined();
    expect(job!.data).toMatchObject({ model: 'mlp', rows: 2, inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 32] }], metadata: '[withheld]', webhook: { url: 'https://hooks.example.com [withheld]' } });
    expect(job!.returnValue.outputs.every((o: Record<string, unknown>) => !('data' in o))).toBe(true);
    const text = JSON.stringify(page.body);
    for (const secret of ['John Doe', 's3cret', '/in/abc']) expect(text).not.toContain(secret);
  });

  it('shows models, workers, queues, failures and throughput, and refreshes by itself', async () => {
    // some traffic: micro-batched jobs, one that expires before it can run, one no worker serves
    for (let wave = 0; wave < 4; wave++) {
      await Promise.all(Array.from({ length: 6 + wave * 6 }, (_, i) => post('/v1/jobs', mlp(wave * 100 + i), { Prefer: 'wait=20' })));
      await new Promise((r) => setTimeout(r, 1100)); // a sample of the counters between waves
    }
    // timeout_ms 1 expires unless a worker fetches the job within the same millisecond, which
    // an awake worker on a quiet machine often does (5 tries all ran in 2 of 10 runs); so a
    // job of 16,384 rows goes first: it fills the worker's row budget (16,384 rows for mlp),
    // and the worker fetches nothing more until its runs are done.
    const big = { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [16_384, 32], data: rows(7, 16_384, 32) }] };
    let expired = false;
    for (let i = 0; i < 5 && !expired; i++) {
      expect((await post('/v1/jobs', big)).status).toBe(202);
      expired = (await post('/v1/jobs', mlp(99 + i, { timeout_ms: 1 }), { Prefer: 'wait=20' })).body.status === 'failed';
    }
    expect(expired).toBe(true);
    expect((await post('/v1/jobs', penguin)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 1500)); // one more sample of the counters

    const ctx = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN }, viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    // Nothing in the console (a missing favicon was a 404 error on every load).
    const consoleErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    expect((await page.goto(`${cluster.url}/admin`))!.status()).toBe(200);
    await expect.poll(() => page.locator('h1').textContent()).toBe('maas · cluster status');
    const row = (model: string) => page.locator('#models tbody tr', { hasText: model }).first();
    await expect.poll(() => row('mlp').textContent(), { timeout: 10_000 }).toContain('cpu / cpu');
    const penguins = row('penguins');
    await expect.poll(() => penguins.textContent()).toContain('no live worker');
    expect(await penguins.locator('td').nth(2).textContent()).toBe('1'); // queued (the model's name is the row's header)
    expect(await penguins.locator('td').nth(4).textContent()).toMatch(/\d(\.\d)? s/); // oldest queued
    await expect.poll(() => page.locator('#workers tbody').textContent()).toContain('mlp:1 (cpu)');
    await expect.poll(() => page.locator('#failures tbody').textContent()).toContain('expired');
    await expect.poll(() => page.locator('#chart svg rect').count()).toBeGreaterThan(0);
    await expect.poll(async () => Number(await row('mlp').locator('td').nth(5).textContent())).toBeGreaterThan(0); // jobs/s over the window

    // without a reload, the page follows the queue
    const before = await page.locator('#updated').textContent();
    expect((await post('/v1/jobs', penguin)).status).toBe(202);
    await expect.poll(() => penguins.locator('td').nth(2).textContent(), { timeout: 8000 }).toBe('2');
    expect(await page.locator('#updated').textContent()).not.toBe(before);
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);

    const board = await ctx.newPage();
    // Nothing leaves for another site (the board's template links Google Fonts: refused by its policy).
    // (Offline here, such a request fails either way: what must fail it is the page's policy.)
    const elsewhere: string[] = [];
    const away = (url: string) => !url.startsWith(cluster.url) && !url.startsWith('data:');
    board.on('response', (r) => { if (away(r.url())) elsewhere.push(`${r.url()}: answered`); });
    board.on('requestfailed', (r) => { if (away(r.url()) && r.failure()?.errorText !== 'csp') elsewhere.push(`${r.url()}: ${r.failure()?.errorText}`); });
    const opened = (await board.goto(`${cluster.url}/admin/queues`))!;
    expect(opened.status()).toBe(200);
    await expect.poll(() => board.locator('body').textContent(), { timeout: 15_000 }).toContain('infer-mlp-v1');
    expect(elsewhere).toEqual([]);
    // Both pages say what may run in them and that no site may frame them.
    for (const res of [await ctx.request.get(`${cluster.url}/admin`), opened]) {
      expect(res.headers()['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(res.headers()['x-content-type-options']).toBe('nosniff');
      expect(res.headers()['x-powered-by']).toBeUndefined(); // the board's own express app sent it
    }
    expect((await ctx.request.get(`${cluster.url}/admin`)).headers()['content-security-policy']).toMatch(/script-src 'sha256-/);
    await ctx.close();
  });

  it('/admin works for a screen reader and a keyboard: no WCAG 2.2 AA violation, rows kept while read, updates that pause, changes said, reflow at 320 px', async () => {
    const ctx = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN }, viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(`${cluster.url}/admin`);
    const penguins = page.locator('#models tbody tr', { hasText: 'penguins' }).first();
    const queued = () => penguins.locator('td').nth(2).textContent();
    await expect.poll(() => page.locator('#failures tbody').textContent(), { timeout: 10_000 }).toContain('expired');

    // axe-core (run in the page, past its script policy), every WCAG 2.2 A and AA rule, on a
    // page paused (axe reads a snapshot: no node may go while it runs).
    await page.evaluate(axe.source);
    const pauseButton = () => page.evaluate('document.getElementById("pause").click()'); // (focus stays where it is)
    const audit = async () => {
      await pauseButton();
      const found = (await page.evaluate(() => (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; nodes: { target: unknown }[] }[] }> } }).axe
        .run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } }))).violations.map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
      await pauseButton();
      return found;
    };
    expect(await audit()).toEqual([]);

    // A redraw replaces only rows that changed: a failure's row (unchanged) is the same element 2 redraws on.
    const failureRow = await page.locator('#failures tbody tr').first().elementHandle();
    await page.waitForTimeout(4500);
    expect(await failureRow!.evaluate((e) => e.isConnected)).toBe(true);

    // Text selected (a job id being copied): the page holds still; once let go, it follows the queue.
    const count = Number(await queued());
    await page.locator('#failures tbody tr td').nth(1).selectText();
    expect((await post('/v1/jobs', penguin)).status).toBe(202);
    await page.waitForTimeout(4500);
    expect(Number(await queued())).toBe(count);
    expect(await page.evaluate<string>('String(document.getSelection())')).not.toBe('');
    await page.evaluate('document.getSelection().removeAllRanges()');
    await expect.poll(async () => Number(await queued()), { timeout: 8000 }).toBe(count + 1);

    // The keyboard: the first stop is "Pause updates" (Space presses it), then the board's link,
    // the models table's box (it scrolls on a narrow screen), then the chart's table.
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('pause');
    await page.keyboard.press('Space');
    expect(await page.locator('#pause').getAttribute('aria-pressed')).toBe('true');
    expect((await post('/v1/jobs', penguin)).status).toBe(202);
    await page.waitForTimeout(4500);
    expect(Number(await queued())).toBe(count + 1); // paused
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toMatch(/^Queue board/);
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.getAttribute("role")')).toBe('region');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // opens the chart's values
    for (let i = 0; i < 3; i++) await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Space'); // resumes
    expect(await page.locator('#pause').getAttribute('aria-pressed')).toBe('false');
    await expect.poll(async () => Number(await queued()), { timeout: 8000 }).toBe(count + 2);
    await expect.poll(() => page.locator('#series tbody tr').count()).toBeGreaterThan(1);
    expect(await page.locator('#chart svg').getAttribute('aria-label')).toMatch(/now [\d.]+ jobs\/s .*highest [\d.]+ jobs\/s/);

    // A change that matters is said in the status region: a worker joins. The other worker's row,
    // unchanged, stays the same element (rows are known by key, not by place).
    const firstWorker = await page.locator('#workers tbody tr').first().elementHandle();
    const joined = await cluster.startWorker({ WORKER_MODELS: 'penguins' });
    await expect.poll(() => page.locator('[role=status]').textContent(), { timeout: 15_000 }).toMatch(/1 worker joined; 2 live/);
    expect(await page.locator('#workers tbody tr').count()).toBe(2);
    expect(await firstWorker!.evaluate((e) => e.isConnected)).toBe(true);
    await expect.poll(async () => Number(await queued()), { timeout: 15_000 }).toBe(0); // (it runs the penguins' jobs)
    await cluster.stopWorker(joined);

    // A failed job's id leads to its page on the queue board.
    const href = (await page.locator('#failures tbody a').first().getAttribute('href'))!;
    expect(href).toMatch(/^\/admin\/queues\/queue\/%7Binfer-mlp-v1%7D\/job_[\w-]+$/);
    const jobPage = await ctx.newPage();
    await jobPage.goto(`${cluster.url}${href}`);
    await expect.poll(() => jobPage.locator('body').textContent(), { timeout: 15_000 }).toContain(decodeURIComponent(href.split('/').pop()!));
    await jobPage.close();

    // Reflow (WCAG 1.4.10): nothing scrolls sideways at 320 px but the tables' own boxes; and still no violation.
    await page.setViewportSize({ width: 320, height: 800 });
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(320);
    expect(await audit()).toEqual([]);
    await ctx.close();
  });

  it("uses WEBHOOK_SECRET as the open tenant's secret, which only configuration rotates", async () => {
    const s = await call(cluster.url, 'GET', '/v1/webhooks/secret');
    expect(s.body).toMatchObject({ secret: SECRET, source: 'config', previous: [] });
    const r = await post('/v1/webhooks/secret/rotate', undefined);
    expect(r.status).toBe(409);
    expect(r.body.type).toBe('urn:maas:problem:secret-from-config');
  });
});

