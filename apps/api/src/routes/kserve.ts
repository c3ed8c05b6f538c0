/**
 * KServe v2 / Open Inference Protocol: health, metadata and synchronous infer. Infer goes
 * through the same queue and batcher as asynchronous jobs, then waits for its job. Bodies may
 * be JSON (with or without a Content-Type) or Triton's binary tensor extension, and outputs
 * go back in binary when the request asks (binary/framing.ts).
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { absentIfNull, AppError, InputTensor, MAX_TENSORS, megabytes, RequestedOutput } from '@maas/shared';
import { binaryOutputs } from '../binary/framing.js';
import type { Deps } from '../deps.js';
import { inferBody } from '../http/infer-body.js';
import { clientGone } from '../http/request-signal.js';
import { inferOptions } from '../inference/request-parameters.js';
import { sendOutputs } from '../http/send-outputs.js';
import { EXTENSIONS, SERVER_NAME, SERVER_VERSION } from '../server-info.js';
import { kserveMetadata } from '../views/model.js';

/** The longest request `id` taken, over REST and gRPC alike. */
export const MAX_REQUEST_ID = 256;

export const InferRequest = z.object({
  id: absentIfNull(z.string().max(MAX_REQUEST_ID)),
  parameters: absentIfNull(z.record(z.string(), z.unknown()))
    .describe('Triton\'s request parameters: `priority` (0 default, 1, 2, … ahead of it) and `timeout` (µs; the request expires if no worker started it by then: 504) act, as does `binary_data_output`; others are ignored'),
  inputs: z.array(InputTensor).min(1).max(MAX_TENSORS),
  outputs: absentIfNull(z.array(RequestedOutput).max(MAX_TENSORS)),
});

/** Route params of the array-path routes below (express types them loosely). */
const modelParam = (req: Request) => String(req.params['model']);
const versionParam = (req: Request) => req.params['version'] as string | undefined;

export function kserveRouter({ catalog, workers }: Deps): Router {
  const r = Router();

  r.get('/v2', (_req, res) => {
    res.json({ name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS });
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

  return r;
}

/** v2 infer, in a router of its own: the busiest /v2 route, mounted ahead of the others (app.ts). */
export function inferRouter({ inference, config }: Deps): Router {
  const r = Router();
  r.post(['/v2/models/:model/infer', '/v2/models/:model/versions/:version/infer'], inferBody(megabytes(config.MAX_BODY_MB)), async (req, res) => {
    const body = InferRequest.parse(req.body);
    const result = await inference.infer(
      req.tenant,
      { model: modelParam(req), version: versionParam(req), id: body.id, inputs: body.inputs, outputs: body.outputs, options: inferOptions(body.parameters) },
      (jobId) => res.setHeader('X-Job-Id', jobId),
      { signal: clientGone(res) }, // a client that leaves is let go of (maas_api_waiting_requests)
    );
    const { jobId: _jobId, ...doc } = result;
    await sendOutputs(res, 200, doc, binaryOutputs(body.parameters, body.outputs));
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
    if (ready.ready) return void res.json(ready);
    // An error answer as every /v2 error is (problem+json with "error"), still saying what a probe reads.
    throw new AppError('not-ready', 'Redis is unreachable', { ...ready });
  });
  return r;
}
