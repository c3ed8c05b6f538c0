import { describe, expect, it } from 'vitest';
import { labeledWith } from './metrics.js';

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
