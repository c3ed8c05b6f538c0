/**
 * A worker on a host whose clock is 30 s behind (NTP broken on one VM): it was read as gone while
 * it ran jobs (its heartbeat was stamped with its own clock, and judged by the API's), so its
 * model read not ready (a clock-skew audit). Heartbeats are stamped with Redis's time now. Real
 * redis-server, API and worker; the worker's clock is set back by a preload (fixtures/skewed-clock.cjs).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, Cluster, REPO_ROOT } from '../src/harness/index.js';

describe('a worker whose host clock is 30 s behind', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({ workers: 0 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('is a live worker, and its model ready, all along', async () => {
    await cluster.startWorker({
      WORKER_MODELS: 'penguins', MAAS_TEST_CLOCK_SKEW_MS: '-30000',
      NODE_OPTIONS: `--require ${join(REPO_ROOT, 'e2e/fixtures/skewed-clock.cjs')}`,
    });
    const features = { name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] };
    for (let i = 0; i < 6; i++) {
      expect((await call(cluster.url, 'GET', '/v2/models/penguins/ready')).status).toBe(200);
      const models = (await call(cluster.url, 'GET', '/v1/models')).body.models as { name: string; workers: number }[];
      expect(models.find((m) => m.name === 'penguins')!.workers).toBe(1);
      expect((await call(cluster.url, 'POST', '/v2/models/penguins/infer', { inputs: [features] })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
    }
  });
});
