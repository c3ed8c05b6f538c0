/**
 * The SDK (@maas/client) in a web page, as a front end uses it: bundled for the browser by
 * esbuild (which follows the package's `browser` field, as Vite and webpack do), loaded by a
 * page on another origin in a real browser (Debian's `chromium`, driven by playwright-core),
 * calling a real API and worker with a key, with no `fetch` of its own passed in. A browser
 * audit: every call failed with "Illegal invocation" (fetch called as a method of the SDK's
 * transport), the bundle would not build (node:crypto for idempotency keys, node:http and
 * node:fs), a streamed upload cannot be sent over HTTP/1.1, and a wait did not ride out an API
 * restart (a browser's "Failed to fetch" has no error code).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, pageServer, REPO_ROOT, type PageServer } from '../src/harness/index.js';

const CHROMIUM = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';
const KEY = 'key-front';
const features = (i: number) => [39.1 + i, 18.7, 181, 3750];

/** The SDK as a browser bundle (one ES module), built as a front end's bundler would. */
async function browserBundle(): Promise<string> {
  const out = await build({
    entryPoints: [join(REPO_ROOT, 'packages/client/dist/index.js')],
    bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

/** The page: it imports the SDK (`/maas.js`) as a module and leaves it on `window.M`. */
const PAGE = '<!doctype html><title>front end</title><script type="module">import * as M from "/maas.js"; window.M = M;</script>';

describe.skipIf(!existsSync(CHROMIUM))('the SDK in a browser page on another origin', () => {
  let cluster: Cluster;
  let browser: Browser;
  let site: PageServer;
  let bundleError: unknown;

  beforeAll(async () => {
    const sdk = await browserBundle().catch((err: unknown) => {
      bundleError = err;
      return '';
    });
    site = await pageServer(PAGE, { '/maas.js': { type: 'text/javascript', body: sdk } });
    cluster = await Cluster.start({ workers: 1, api: { API_KEYS: `front:${KEY}`, CORS_ORIGINS: site.origin }, worker: { WORKER_MODELS: 'penguins' } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
    site?.server.close();
  });

  async function page(): Promise<Page> {
    const p = await browser.newPage();
    await p.goto(site.origin);
    await p.waitForFunction(() => 'M' in globalThis);
    return p;
  }

  it('bundles for the browser with no Node module left in it', () => {
    expect(bundleError).toBeUndefined();
  });

  it('lists models, infers, runs a job and submits a batch from a File, with results in input order', async () => {
    const p = await page();
    try {
      const r = await p.evaluate(async ({ api, key, rows }) => {
        const M = (globalThis as unknown as { M: any }).M; // the SDK, as the page's module imported it
        const maas = new M.MaasClient({ baseUrl: api, apiKey: key });
        try {
          const models = (await maas.models.list()).map((m: { name: string }) => m.name);
          const inputs = [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: rows[0] }];
          const inferred = await maas.infer('penguins', inputs);
          const job = await maas.jobs.run({ model: 'penguins', inputs }); // an Idempotency-Key of the SDK's own
          const lines = rows.map((data: number[], i: number) => JSON.stringify({ custom_id: `r${i}`, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data }] })).join('\n');
          const file = new File([lines + '\n'], 'rows.ndjson', { type: 'application/x-ndjson' });
          const fromFile = await maas.batches.submit({ model: 'penguins', lines: file.stream() });
          async function* generated() {
            for (let i = 0; i < 3; i++) {
              await new Promise((resolve) => setTimeout(resolve, 5));
              yield { custom_id: `g${i}`, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: rows[i] }] };
            }
          }
          const fromGenerator = await maas.batches.submit({ model: 'penguins', lines: generated() });
          const ended = await maas.batches.wait(fromFile.id, { timeoutMs: 30_000 });
          await maas.batches.wait(fromGenerator.id, { timeoutMs: 30_000 });
          const ids: string[] = [];
          for await (const line of maas.batches.results(fromFile.id)) ids.push(line.custom_id);
          const generatedIds: string[] = [];
          for await (const line of maas.batches.results(fromGenerator.id)) generatedIds.push(line.custom_id);
          let verify = '';
          try {
            M.verifyWebhook('{}', {}, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
          } catch (err) {
            verify = String(err);
          }
          return {
            models, label: inferred.outputs.find((o: { name: string }) => o.name === 'label')?.data, job: job.status,
            batch: { status: ended.status, counts: ended.counts, ids }, generatedIds, verify,
          };
        } catch (err) {
          return { error: String(err) };
        }
      }, { api: cluster.url, key: KEY, rows: Array.from({ length: 50 }, (_, i) => features(i)) });
      expect(r, JSON.stringify(r)).not.toHaveProperty('error');
      const ok = r as Exclude<typeof r, { error: string }>;
      expect(ok.models).toContain('penguins');
      expect(ok.job).toBe('succeeded');
      expect(ok.batch.status).toBe('succeeded');
      expect(ok.batch.counts).toMatchObject({ total: 50, succeeded: 50, failed: 0 });
      expect(ok.batch.ids).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`));
      expect(ok.generatedIds).toEqual(['g0', 'g1', 'g2']);
      // A page must never hold the webhook secret: verification says where it runs.
      expect(ok.verify).toMatch(/not in a browser/);
    } finally {
      await p.close();
    }
  });

  it("waits for a job through an API restart (a browser's \"Failed to fetch\" says no more)", async () => {
    const created = await call(cluster.url, 'POST', '/v1/jobs', { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: new Array(32).fill(0.25) }] }, { authorization: `Bearer ${KEY}` });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const api = cluster.url;
    const p = await page();
    try {
      const waited = p.evaluate(async ({ api, key, id }) => {
        const M = (globalThis as unknown as { M: any }).M; // the SDK, as the page's module imported it
        const maas = new M.MaasClient({ baseUrl: api, apiKey: key });
        try {
          return { status: (await maas.jobs.wait(id, { timeoutMs: 45_000 })).status as string };
        } catch (err) {
          return { error: String(err) };
        }
      }, { api, key: KEY, id: created.body.id as string });
      await new Promise((r) => setTimeout(r, 1000)); // its long-poll is under way
      await cluster.api.stop('SIGKILL');
      await new Promise((r) => setTimeout(r, 1500));
      await cluster.startApi({ PORT: new URL(api).port });
      await cluster.startWorker({ WORKER_MODELS: 'mlp' });
      expect(await waited).toEqual({ status: 'succeeded' });
    } finally {
      await p.close();
    }
  });
});
