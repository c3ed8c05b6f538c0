/**
 * Triton's HTTP extensions: model configuration, statistics, and the model repository
 * (index, load, unload). The same services answer the gRPC RPCs.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { tritonConfig } from '../views/triton-config.js';

const modelParam = (req: Request) => String(req.params['model']);
const versionParam = (req: Request) => req.params['version'] as string | undefined;

/** Body of POST /v2/repository/index (Triton: optional `ready`); absent or empty is `{}`. */
const IndexRequest = z.object({ repository_name: z.string().optional(), ready: z.boolean().optional() }).optional();

export function tritonRouter({ catalog, stats, repository, workers }: Deps): Router {
  const r = Router();

  r.get(['/v2/models/:model/config', '/v2/models/:model/versions/:version/config'], async (req, res) => {
    const { model, version } = catalog.resolve(modelParam(req), versionParam(req));
    res.json(tritonConfig(model, version, await workers.provider(model.name, version.version)));
  });

  r.get(['/v2/models/stats', '/v2/models/:model/stats', '/v2/models/:model/versions/:version/stats'], async (req, res) => {
    res.json({ model_stats: await stats.read(req.params['model'] as string | undefined, versionParam(req)) });
  });

  r.post('/v2/repository/index', async (req, res) => {
    const body = IndexRequest.parse(req.body ?? undefined);
    res.json(await repository.index(body?.ready ?? false));
  });

  r.post('/v2/repository/models/:model/load', async (req, res) => {
    await repository.load(modelParam(req));
    res.json({});
  });

  r.post('/v2/repository/models/:model/unload', async (req, res) => {
    await repository.unload(modelParam(req));
    res.json({});
  });

  return r;
}
