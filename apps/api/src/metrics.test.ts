import { describe, expect, it } from 'vitest';
import { createApiMetrics, labeledWith } from './metrics.js';

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
