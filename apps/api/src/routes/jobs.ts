/** `/v1/jobs`: create, read (long-poll), cancel. Parsing and serialising only; the service does the work. */
import { Router } from 'express';
import { JobRequest, isRedisUnavailable, isTerminal, jobRequestIssues, megabytes, ValidationError } from '@maas/shared';
import { requestSignal } from '../http/request-signal.js';
import { clampWaitMs, preferWait, queryWait } from '../http/wait.js';
import type { Deps } from '../deps.js';
import { IdempotencyStore } from '../services/idempotency.js';
import { binaryOutputs } from '../binary/framing.js';
import { inferBody } from '../http/infer-body.js';
import { sendJob, sendOutputs } from '../http/send-outputs.js';
import { checkPriority } from '../quotas/limits.js';

const JSON_ANSWER = 'application/json';
const BINARY_ANSWER = 'application/octet-stream';

export function jobsRouter({ jobs, config, shutdown, limits }: Deps): Router {
  const r = Router();

  r.post('/v1/jobs', inferBody(megabytes(config.MAX_BODY_MB)), async (req, res) => {
    const body = JobRequest.parse(req.body);
    const issues = jobRequestIssues(body);
    if (issues.length) throw new ValidationError(issues);
    checkPriority(req.tenant, body.priority, limits(req.tenant)); // 403 for a priority reserved to others
    const key = IdempotencyStore.check(req.headersDistinct['idempotency-key']);
    const { job: created, created: isNew } = await jobs.create(req.tenant, body, key);
    const preferred = preferWait(req.get('Prefer'));
    let job = created;
    if (preferred !== undefined) {
      res.setHeader('Preference-Applied', `wait=${Math.min(preferred, config.MAX_WAIT_S)}`);
      try {
        job = await jobs.wait(req.tenant, created.id, clampWaitMs(preferred, config.MAX_WAIT_S), requestSignal(res, shutdown), isNew, body.timeout_ms);
      } catch (err) {
        // The job is queued, but Redis went away while it was waited for (and stayed away until
        // the wait's end): a 202 naming it, as a wait that ran out answers, never a 503 that a
        // client would answer by creating it again.
        if (!isRedisUnavailable(err)) throw err;
      }
    }
    res.setHeader('Location', `${config.PUBLIC_PATH}/v1/jobs/${job.id}`);
    if (!isNew) res.setHeader('Idempotent-Replayed', 'true');
    // Outputs asked for in binary (binary tensor extension) come framed after the job object.
    await sendOutputs(res, isTerminal(job.status) && preferred !== undefined ? 200 : 202, job, binaryOutputs(body.parameters, body.outputs));
  });

  r.get('/v1/jobs/:id', async (req, res) => {
    const ms = clampWaitMs(queryWait(req.query['wait']), config.MAX_WAIT_S);
    const job = ms > 0 ? await jobs.wait(req.tenant, req.params.id, ms, requestSignal(res, shutdown)) : await jobs.get(req.tenant, req.params.id);
    // A client that prefers bytes to JSON gets every output framed by the binary tensor
    // extension (a job without outputs, as JSON); one that names neither, JSON.
    res.vary('Accept');
    if (req.accepts([JSON_ANSWER, BINARY_ANSWER]) === BINARY_ANSWER) await sendOutputs(res, 200, job, () => true);
    else await sendJob(res, job);
  });

  r.post('/v1/jobs/:id/cancel', async (req, res) => {
    await sendJob(res, await jobs.cancel(req.tenant, req.params.id));
  });

  return r;
}
