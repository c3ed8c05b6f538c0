/**
 * A worker's health port (WORKER_HEALTH_PORT), as Kubernetes' probes and a pod-scraping
 * Prometheus use it: `/livez` and `/readyz` answer 200 on a working worker; a Redis that stops
 * answering (SIGSTOP) makes it not ready within its liveness TTL, with the reason, while it stays
 * live (a restart would not bring Redis back), and ready again once Redis answers; `/metrics`
 * is its own registry; the port closes with the worker.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@maas/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, eventually, rows, SHIPPED_MODELS, type Reply } from '../src/harness/index.js';
import type { ServiceProcess } from '../src/harness/index.js';

let cluster: Cluster;
let worker: ServiceProcess;
let health: string;

beforeAll(async () => {
  cluster = await Cluster.start({ workers: 0 });
  const port = await freePort();
  health = `http://127.0.0.1:${port}`;
  worker = await cluster.startWorker({ WORKER_MODELS: 'penguins', WORKER_HEALTH_PORT: String(port), WORKER_ALIVE_TTL_MS: '1500' });
});
afterAll(async () => {
  await cluster?.stop();
});

describe('a worker\'s health port', () => {
  it('answers live and ready, HEAD too, names the worker, and refuses other methods and paths', async () => {
    expect(await call(health, 'GET', '/livez')).toMatchObject({ status: 200, body: { status: 'live', worker: worker.name } });
    expect(await call(health, 'GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ready', worker: worker.name } });
    expect(await call(health, 'GET', '/startedz')).toMatchObject({ status: 200, body: { status: 'started', worker: worker.name } });
    const head = await fetch(`${health}/readyz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${health}/livez`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await call(health, 'GET', '/nope')).status).toBe(404);
  });

  it('serves this worker\'s own metrics, its runs counted', async () => {
    const r = await call(cluster.url, 'POST', '/v2/models/penguins/infer', { inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 4], data: rows(5, 3, 4).map((x) => [x[0]! + 40, x[1]! + 18, x[2]! + 190, x[3]! + 4000]) }] });
    expect(r.status).toBe(200);
    const text = (await call(health, 'GET', '/metrics')).body as string;
    expect(text).toMatch(/^maas_run_rows_count\{[^}]*model="penguins"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^maas_worker_process_cpu_seconds_total/m);
    // The event-loop delay without the 100 ms sampling interval, as the API's /metrics reads it
    // (an idle worker's p50 read 0.1 s here before).
    const p50 = Number(/^maas_worker_nodejs_eventloop_lag_p50_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1]);
    expect(p50).toBeGreaterThanOrEqual(0);
    expect(p50).toBeLessThan(0.05);
    // When it started, for uptime and restart alerts (prom-client's aggregation dropped it), on the API's /metrics too.
    const started = Number(/^maas_worker_process_start_time_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1]);
    expect(Math.abs(started - Date.now() / 1000)).toBeLessThan(3600);
    const merged = (await call(cluster.url, 'GET', '/metrics')).body as string;
    expect(merged).toMatch(/^maas_api_process_start_time_seconds \d+/m);
    expect(merged).toMatch(/^maas_worker_process_start_time_seconds\{[^}]*worker="[^"]+"\} \d+/m);
  });

  it('is not ready, with the reason, while Redis does not answer, yet live; ready again once it does', async () => {
    const pid = cluster.redis.process!.pid!;
    process.kill(pid, 'SIGSTOP');
    let paused: Reply;
    try {
      paused = await eventually(() => call(health, 'GET', '/readyz', undefined, {}, 2000), (r) => r.status === 503, { ms: 10_000, what: 'not ready' });
      expect((await call(health, 'GET', '/livez', undefined, {}, 2000)).status).toBe(200);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(paused.body).toMatchObject({ status: 'not ready', reasons: [expect.stringMatching(/^Redis unreachable: liveness beat last renewed \d+ ms ago \(WORKER_ALIVE_TTL_MS 1500\)$/)] });
    await eventually(() => call(health, 'GET', '/readyz', undefined, {}, 2000), (r) => r.status === 200, { ms: 15_000, what: 'ready again' });
  });

  it('closes with the worker', async () => {
    expect(await cluster.stopWorker(worker)).toBe(0);
    await expect(fetch(`${health}/livez`)).rejects.toThrow();
  });

  it('the repository index calls READY only what a live worker serves, as `…/ready` does (it said READY with no worker)', async () => {
    // No worker left: penguins (served until now) and mlp (never served: WORKER_MODELS) alike.
    type Entry = { name: string; version?: string; state: string; reason: string };
    const index = async () => (await call<Entry[]>(cluster.url, 'POST', '/v2/repository/index', {})).body;
    const entries = await eventually(index, (e) => e.some((x) => x.name === 'penguins' && x.state === 'UNAVAILABLE'), { ms: 10_000, what: 'penguins UNAVAILABLE' });
    for (const e of entries.filter((x) => x.name === 'penguins' || x.name === 'mlp')) {
      expect(e).toMatchObject({ state: 'UNAVAILABLE', reason: `loaded, but no live worker serves ${e.name}/${e.version}: its requests wait queued until one does` });
    }
    expect((await call(cluster.url, 'GET', '/v2/models/penguins/ready')).status).toBe(503);
    expect((await call<Entry[]>(cluster.url, 'POST', '/v2/repository/index', { ready: true })).body.filter((e) => e.name === 'penguins')).toEqual([]);
  });
});

describe('a worker with no model to serve', () => {
  it('starts on an empty repository not ready, saying so, and is ready once a model appears in it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-empty-repo-'));
    const port = await freePort();
    const empty = await cluster.startWorker({ MODEL_REPOSITORY: dir, MODEL_REPOSITORY_POLL_S: '1', WORKER_HEALTH_PORT: String(port) });
    try {
      const at = `http://127.0.0.1:${port}`;
      const before = await eventually(() => call(at, 'GET', '/readyz'), (r) => r.status === 503 && /serves no model/.test(JSON.stringify(r.body)), { what: 'not ready: no model' });
      expect(before.body.reasons).toEqual([expect.stringMatching(/^serves no model/)]);
      expect((await call(at, 'GET', '/livez')).status).toBe(200);
      expect(await call(at, 'GET', '/startedz')).toMatchObject({ status: 200, body: { status: 'started' } }); // the startup probe passes
      await cp(join(SHIPPED_MODELS, 'penguins'), join(dir, 'penguins'), { recursive: true });
      await eventually(() => call(at, 'GET', '/readyz'), (r) => r.status === 200, { ms: 20_000, what: 'ready with penguins' });
    } finally {
      await cluster.stopWorker(empty);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
