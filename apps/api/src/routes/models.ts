/** `GET /v1/models`: every served model with its signature and how many live workers serve it. */
import { Router } from 'express';
import type { Deps } from '../deps.js';
import { modelListing } from '../views/model.js';

export function modelsRouter({ catalog, workers }: Deps): Router {
  const r = Router();
  r.get('/v1/models', async (_req, res) => {
    const models = await Promise.all(catalog.models.map(async (m) => modelListing(m, await workers.servingCounts(m.name))));
    res.json({ object: 'list', models });
  });
  r.get('/v1/models/:model', async (req, res) => {
    const m = catalog.model(req.params.model);
    res.json(modelListing(m, await workers.servingCounts(m.name)));
  });
  return r;
}
