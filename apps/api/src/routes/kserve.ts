/**
 * KServe v2 / Open Inference Protocol: health, metadata and synchronous infer. Infer goes
 * through the same queue and batcher as asynchronous jobs, then waits for its job.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { InferenceError, JsonTensor, RequestedOutput, WaitTimeoutError, AppError } from '@maas/shared';
import type { Deps } from '../deps.js';
import { requireJson } from '../http/json.js';
import { kserveMetadata } from '../views/model.js';

const InferRequest = z.object({
  id: z.string().max(256).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z.array(JsonTensor).min(1),
  outputs: z.array(RequestedOutput).optional(),
});

/** Route params of the array-path routes below (express types them loosely). */
const modelParam = (req: Request) => String(req.params['model']);
const versionParam = (req: Request) => req.params['version'] as string | undefined;

export const SERVER_NAME = 'maas';
export const SERVER_VERSION = '0.1.0';

export function kserveRouter({ catalog, jobs, workers, config, shutdown }: Deps): Router {
  const r = Router();

  r.get('/v2', (_req, res) => {
    res.json({ name: SERVER_NAME, version: SERVER_VERSION, extensions: ['classification', 'model_repository_metadata'] });
  });

  r.get(['/v2/models/:model', '/v2/models/:model/versions/:version'], (req, res) => {
    const { model, version } = catalog.resolve(modelParam(req), versionParam(req));
    res.json(kserveMetadata(model, versionParam(req) ? version : undefined));
  });

  r.get(['/v2/models/:model/ready', '/v2/models/:model/versions/:version/ready'], async (req, res) => {
    const { model, version } = catalog.resolve(modelParam(req), versionParam(req));
    const counts = await workers.servingCounts(model.name);
    const n = versionParam(req) ? counts.get(version.version) ?? 0 : Math.max(0, ...counts.values());
    if (n === 0) throw new AppError('model-not-ready', `no live worker serves ${model.name}${versionParam(req) ? `/${version.version}` : ''}`);
    res.json({ name: model.name, ready: true, workers: n });
  });

  r.post(['/v2/models/:model/infer', '/v2/models/:model/versions/:version/infer'], requireJson(config.MAX_BODY_MB * 1024 * 1024), async (req, res) => {
    const body = InferRequest.parse(req.body);
    const { job: created } = await jobs.create(req.tenant, {
      model: modelParam(req),
      ...(versionParam(req) ? { version: Number(versionParam(req)) || -1 } : {}),
      inputs: body.inputs,
      ...(body.outputs ? { outputs: body.outputs } : {}),
    });
    res.setHeader('X-Job-Id', created.id);
    const job = await jobs.wait(req.tenant, created.id, config.INFER_TIMEOUT_S * 1000, shutdown, true);
    if (job.status === 'succeeded') {
      res.json({ model_name: job.model, model_version: job.version, id: body.id ?? job.id, outputs: job.outputs });
      return;
    }
    const ext = { job_id: job.id, job_status: job.status };
    if (job.status === 'failed' || job.status === 'canceled') {
      throw new InferenceError(`job ${job.id} ${job.status}: ${job.error?.message ?? ''}`, { ...ext, error: job.error });
    }
    throw new WaitTimeoutError(`job ${job.id} did not finish within ${config.INFER_TIMEOUT_S} s; poll GET /v1/jobs/${job.id}`, ext);
  });

  return r;
}

/** `/v2/health/*`: answered without an API key (orchestrators probe them). */
export function healthRouter({ health }: Deps): Router {
  const r = Router();
  r.get('/v2/health/live', (_req, res) => {
    res.json({ live: true });
  });
  r.get('/v2/health/ready', async (_req, res) => {
    const ready = await health();
    res.status(ready.ready ? 200 : 503).json(ready);
  });
  return r;
}
