import { describe, expect, it, vi } from 'vitest';
import { createApiMetrics, httpMetrics, labeledWith } from './metrics.js';

describe('the caches gauges', () => {
  it('read every cache at scrape time, bytes only for those bounded by bytes', async () => {
    let queued = 3;
    const metrics = createApiMetrics(() => 0, () => [{ cache: 'queued_jobs', entries: queued, bytes: 1200 }, { cache: 'job_queues', entries: 7 }]);
    let text = await metrics.registry.metrics();
    expect(text).toMatch(/^maas_api_cache_entries\{cache="queued_jobs"\} 3$/m);
    expect(text).toMatch(/^maas_api_cache_entries\{cache="job_queues"\} 7$/m);
    expect(text).toMatch(/^maas_api_cache_bytes\{cache="queued_jobs"\} 1200$/m);
    expect(text).not.toMatch(/maas_api_cache_bytes\{cache="job_queues"\}/);
    queued = 0;
    text = await metrics.registry.metrics();
    expect(text).toMatch(/^maas_api_cache_entries\{cache="queued_jobs"\} 0$/m);
  });
});

describe('labeledWith', () => {
  it("labels every value of a worker's metrics with its id, keeping the other labels", () => {
    const metrics = [
      { name: 'maas_jobs_processed_total', type: 'counter', values: [{ labels: { model: 'mlp', outcome: 'succeeded' }, value: 3 }, { value: 1 }] },
      { name: 'maas_empty', type: 'gauge' },
    ];
    expect(labeledWith(metrics, 'w-1')).toEqual([
      { name: 'maas_jobs_processed_total', type: 'counter', values: [{ labels: { model: 'mlp', outcome: 'succeeded', worker: 'w-1' }, value: 3 }, { labels: { worker: 'w-1' }, value: 1 }] },
      { name: 'maas_empty', type: 'gauge', values: [] },
    ]);
    expect(metrics[0]!.values![0]!.labels).toEqual({ model: 'mlp', outcome: 'succeeded' }); // not changed in place
  });
});

describe('httpMetrics', () => {
  it('counts an answered request under its status, and one whose client left first under 499', async () => {
    const express = (await import('express')).default;
    const { createServer } = await import('node:http');
    const metrics = createApiMetrics();
    const app = express();
    app.use(httpMetrics(metrics));
    app.get('/ok', (_req, res) => void res.send('ok'));
    app.get('/missing', (_req, res) => void res.status(404).send('no'));
    app.get('/slow', () => {}); // never answers: its client gives up
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      await (await fetch(`${url}/ok`)).text();
      await (await fetch(`${url}/missing`)).text();
      const gaveUp = new AbortController();
      const slow = fetch(`${url}/slow`, { signal: gaveUp.signal }).catch(() => undefined);
      setTimeout(() => gaveUp.abort(), 100);
      await slow;
      const counted = async () => Object.fromEntries((await metrics.http.get()).values
        .filter((v) => v.metricName === 'maas_http_request_seconds_count')
        .map((v) => [`${String(v.labels.route)} ${String(v.labels.status)}`, v.value]));
      const seen = await vi.waitFor(async () => {
        const c = await counted();
        if (!c['/slow 499']) throw new Error('not yet');
        return c;
      });
      expect(seen).toEqual({ '/ok 200': 1, '/missing 404': 1, '/slow 499': 1 });
      expect((await metrics.problems.get()).values.map((v) => [v.labels.status, v.value])).toEqual([['404', 1]]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
