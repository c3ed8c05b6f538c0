/**
 * Triton's HTTP extensions: model configuration, statistics, and the model repository
 * (index, load, unload). The same services answer the gRPC RPCs. Bodies are parsed with, and
 * answers typed by, the schemas below (and `ModelConfig`), which the OpenAPI document shows.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { ModelStatistics } from '@maas/shared';
import type { Deps } from '../deps.js';
import { LOAD_READY_WAIT_MS } from '../services/workers.js';
import { ModelIndexEntry } from '../services/repository.js';
import { tritonConfig } from '../views/triton-config.js';

const modelParam = (req: Request) => String(req.params['model']);
const versionParam = (req: Request) => req.params['version'] as string | undefined;

/** Body of POST /v2/repository/index (Triton: optional `ready`); absent or empty is `{}`. */
export const IndexRequest = z
  .object({
    repository_name: z.string().optional().describe('ignored: there is one repository'),
    ready: z.boolean().optional().describe('true: only the READY entries'),
  })
  .optional();

/** The routes that load and unload a model: ADMIN_KEY's once keys are set (http/admin-auth.ts `repositoryControl`). */
export const REPOSITORY_LOAD = '/v2/repository/models/:model/load';
export const REPOSITORY_UNLOAD = '/v2/repository/models/:model/unload';

/**
 * Body of POST /v2/repository/models/{m}/load and /unload (Triton: optional `parameters`);
 * absent or empty is `{}`. A load re-reads the model from the repository: `config` and `file:…`
 * are refused (400), other parameters ignored.
 */
export const RepositoryModelRequest = z
  .object({ parameters: z.record(z.string(), z.unknown()).optional().describe("Triton's config and file:… are refused (400: a load reads the repository); others, such as unload_dependents, are ignored") })
  .optional();

/** Answer of POST /v2/repository/index. */
export const RepositoryIndex = z.array(ModelIndexEntry);
/** Answer of the statistics routes: every served version of every model, of one model, or one version. */
export const ModelStatsResponse = z.strictObject({ model_stats: z.array(ModelStatistics) });
/** Answer of load and unload (Triton answers an empty object). */
export const RepositoryAnswer = z.strictObject({});

export function tritonRouter({ catalog, stats, repository, workers }: Deps): Router {
  const r = Router();

  r.get(['/v2/models/:model/config', '/v2/models/:model/versions/:version/config'], async (req, res) => {
    const { model, version } = catalog.resolve(modelParam(req), versionParam(req));
    res.json(tritonConfig(model, version, await workers.provider(model.name, version.version)));
  });

  r.get(['/v2/models/stats', '/v2/models/:model/stats', '/v2/models/:model/versions/:version/stats'], async (req, res) => {
    res.json({ model_stats: await stats.read(req.params['model'] as string | undefined, versionParam(req)) } satisfies z.output<typeof ModelStatsResponse>);
  });

  r.post('/v2/repository/index', async (req, res) => {
    const body = IndexRequest.parse(req.body ?? undefined);
    res.json((await repository.index(body?.ready ?? false)) satisfies z.output<typeof RepositoryIndex>);
  });

  r.post(REPOSITORY_LOAD, async (req, res) => {
    const body = RepositoryModelRequest.parse(req.body ?? undefined);
    await workers.untilServed(await repository.load(modelParam(req), Object.keys(body?.parameters ?? {})), LOAD_READY_WAIT_MS);
    res.json({} satisfies z.output<typeof RepositoryAnswer>);
  });

  r.post(REPOSITORY_UNLOAD, async (req, res) => {
    RepositoryModelRequest.parse(req.body ?? undefined);
    await repository.unload(modelParam(req));
    res.json({} satisfies z.output<typeof RepositoryAnswer>);
  });

  return r;
}
