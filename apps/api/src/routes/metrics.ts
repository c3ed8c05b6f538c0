/** `GET /metrics` (Prometheus text). */
import { Router } from 'express';
import type { Deps } from '../deps.js';
import { renderMetrics } from '../metrics.js';

export function metricsRouter({ metrics, catalog, queues, workers, redis, webhookQueue }: Deps): Router {
  const r = Router();
  r.get('/metrics', async (req, res) => {
    const out = await renderMetrics(metrics, { catalog, queues, workers, redis, webhookQueue }, req.log);
    res.type(out.contentType).send(out.body);
  });
  return r;
}
