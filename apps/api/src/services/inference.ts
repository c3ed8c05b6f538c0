/**
 * Synchronous inference for the KServe v2 front doors (REST, binary REST, gRPC): the request
 * is checked by the same JobService (validation, queue, batcher) as `/v1/jobs`, queued with the
 * requests of the same turn it can share a job with (infer-packer.ts), then a wait for that
 * job's end and the request's own rows of its outputs. A failed, canceled or unfinished job
 * becomes the typed error every front door maps. For a model with `response_cache`, a request
 * whose key (inference/response-cache.ts) is kept is answered from it instead, never queued.
 */
import {
  clusterNow, AppError, InferenceError, modelDigests, msToNs, NotFoundError, ranWith, RedisUnavailableError, redisUnavailableReason, sliceOutputRows, STAT, statsKey, ValidationError, VERSION_TEXT, WaitTimeoutError,
  type InputTensor, type ModelVersion, type OutputTensor, type RequestedOutput, type StatsWriter,
} from '@maas/shared';
import { cacheKey, type ResponseCache } from '../inference/response-cache.js';
import { InferPacker } from './infer-packer.js';
import type { JobService } from './jobs.js';
import { eitherStop, type StopSignal } from './stop-signal.js';
import type { InferOptions } from '../inference/request-parameters.js';
import { checkPriority, type TenantLimits } from '../quotas/limits.js';

export interface InferCall {
  model: string;
  /** as the client sent it (a digit string, or empty/absent for the newest version) */
  version?: string | undefined;
  id?: string | undefined;
  inputs: InputTensor[];
  outputs?: RequestedOutput[] | undefined;
  /** Triton's `priority` and `timeout` request parameters, read (inference/request-parameters.ts) */
  options?: InferOptions;
}

export interface InferResult {
  model_name: string;
  model_version: string;
  id: string;
  outputs: OutputTensor[];
  /** the job that ran it (REST answers it in `X-Job-Id`) */
  jobId: string;
}

/** The response cache and where its hits and misses are counted (Triton's cache_hit / cache_miss). */
export interface CacheDeps {
  cache: ResponseCache;
  stats: StatsWriter;
  /** a hit or a miss of `model` (Prometheus) */
  counted: (model: string, result: 'hit' | 'miss') => void;
}

export class InferenceService {
  private readonly packer: InferPacker;

  constructor(
    private readonly jobs: JobService,
    private readonly timeoutMs: number,
    private readonly shutdown: StopSignal,
    private readonly limits: (tenant: string) => TenantLimits,
    /** none: RESPONSE_CACHE_MB is 0 */
    private readonly cached?: CacheDeps,
  ) {
    this.packer = new InferPacker(jobs);
  }

  /**
   * `onCreated` hears the job id as soon as the job is queued. `limit` bounds the wait further:
   * a gRPC client's deadline, and a signal aborted when the client goes away.
   */
  async infer(
    tenant: string,
    call: InferCall,
    onCreated?: (jobId: string) => void,
    limit: { timeoutMs?: number; signal?: StopSignal } = {},
  ): Promise<InferResult> {
    if (call.version && !VERSION_TEXT.test(call.version)) throw new NotFoundError('model version', `${call.model}/${call.version}`);
    const { priority, timeoutMs } = call.options ?? {};
    checkPriority(tenant, priority, this.limits(tenant)); // 403 for a priority reserved to others, as /v1/jobs
    const prepared = this.jobs.prepare({
      model: call.model,
      ...(call.version ? { version: Number(call.version) } : {}),
      inputs: call.inputs,
      ...(call.outputs ? { outputs: call.outputs } : {}),
      ...(priority ? { priority } : {}),
      ...(timeoutMs ? { timeout_ms: timeoutMs } : {}),
    });
    const cache = prepared.model.config.response_cache ? this.cached : undefined;
    const served = cache && modelDigests(prepared.model, prepared.version);
    const key = served && cacheKey(tenant, prepared.version, served, prepared.checked.inputs, prepared.checked.outputs);
    const hit = cache && key ? this.fromCache(cache, key, prepared.version, call.id) : undefined;
    if (hit) {
      onCreated?.(hit.jobId);
      return hit;
    }
    let place = await this.packer.submit(tenant, prepared);
    onCreated?.(place.jobId);
    const ms = Math.max(0, Math.min(this.timeoutMs, limit.timeoutMs ?? Infinity));
    const until = performance.now() + ms;
    const signal = limit.signal ? eitherStop(this.shutdown, limit.signal) : this.shutdown;
    // Where this request's answer is to be found once the wait for it has ended: the job, and
    // in a job shared with other requests (which shows all their rows) its own rows.
    const found = () => {
      const end = place.offset + prepared.checked.rows;
      return {
        ext: { job_id: place.jobId, ...(place.shared ? { job_rows: [place.offset, end] } : {}) },
        poll: `poll GET /v1/jobs/${place.jobId}${place.shared ? ` (this request's rows are ${place.offset} to ${end - 1} of its outputs)` : ''}`,
      };
    };
    // A wait that Redis left until its end (it rides an outage out while time is left): the job
    // stays queued and runs once Redis is back, which the answer says, with where to find it.
    const wait = (waitMs: number) => this.jobs.wait(tenant, place.jobId, waitMs, signal, true, timeoutMs).catch((err: unknown) => {
      const reason = redisUnavailableReason(err);
      if (!reason) throw err;
      const { ext, poll } = found();
      throw new RedisUnavailableError(err, reason, `job ${place.jobId} stays queued and will run once it is back: ${poll}`, ext);
    });
    let job = await wait(ms);
    if (place.shared && job.status === 'failed' && job.error?.type === 'inference-failed') {
      // Another request's rows can fail the job they share (an index out of a table's range):
      // this one runs again alone, so its answer, success or failure, is its own.
      place = await this.packer.alone(tenant, prepared);
      onCreated?.(place.jobId);
      job = await wait(Math.max(0, until - performance.now()));
    }
    if (job.status === 'succeeded') {
      // A job of its own answers its outputs as they are (a model that cannot batch may give `[2, rows]`).
      const [start, end] = [place.offset, place.offset + prepared.checked.rows];
      const outputs = place.shared ? (job.outputs ?? []).map((o) => sliceOutputRows(o, start, end)) : (job.outputs ?? []);
      // Kept only if the worker ran what the key names (a worker may not have seen a new file yet).
      if (cache && key && ranWith(job) === served) this.keep(cache, key, prepared.version, { jobId: job.id, model_version: job.version, outputs });
      return { model_name: job.model, model_version: job.version, id: call.id ?? job.id, outputs, jobId: job.id };
    }
    const { ext: at, poll } = found();
    const ext = { ...at, job_status: job.status };
    if (job.error?.type === 'expired') {
      throw new WaitTimeoutError(`the request's timeout (its \`timeout\` parameter) passed before job ${job.id} ran`, ext);
    }
    if (job.error?.type === 'invalid-input') {
      // The worker's model took other inputs than the API's (a file replaced in between): a 400, as the API's own check answers.
      throw new ValidationError([{ path: 'inputs', message: job.error.message }]);
    }
    if (job.status === 'failed' || job.status === 'canceled') {
      throw new InferenceError(`job ${job.id} ${job.status}: ${job.error?.message ?? ''}`, { ...ext, error: job.error });
    }
    if (this.shutdown.aborted) {
      // The job stays queued and runs; only this answer's wait was cut short by the stop.
      throw new AppError('shutting-down', `the API is stopping; job ${job.id} stays queued and will run: ${poll}`, ext, { headers: { 'Retry-After': '1' } });
    }
    if (limit.signal?.aborted) throw new WaitTimeoutError(`the client left before job ${job.id} finished; it stays queued and will run: ${poll}`, ext);
    throw new WaitTimeoutError(`job ${job.id} did not finish within ${ms / 1000} s; ${poll}`, ext);
  }

  /**
   * A hit's answer, counted as Triton counts one: a success and a cache hit, never an inference
   * or an execution. Undefined for a miss, counted here whatever the request's end (its lookup
   * time; a success's insertion adds its own, `keep`).
   */
  private fromCache(cached: CacheDeps, key: string, version: ModelVersion, id: string | undefined): InferResult | undefined {
    const t0 = performance.now();
    const hit = cached.cache.get(key);
    const ns = msToNs(performance.now() - t0);
    const stats = statsKey(version.model, version.version);
    if (!hit) {
      cached.stats.add(stats, STAT.cacheMissCount, 1);
      cached.stats.add(stats, STAT.cacheMissNs, ns);
      cached.counted(version.model, 'miss');
      return undefined;
    }
    cached.stats.add(stats, STAT.cacheHitCount, 1);
    cached.stats.add(stats, STAT.cacheHitNs, ns);
    cached.stats.add(stats, STAT.successCount, 1);
    cached.stats.add(stats, STAT.successNs, ns);
    cached.stats.inferredAt(stats, clusterNow());
    cached.counted(version.model, 'hit');
    return { model_name: version.model, model_version: hit.model_version, id: id ?? hit.jobId, outputs: hit.outputs, jobId: hit.jobId };
  }

  /** A miss that succeeded: the answer kept for the next same request, its insertion time added to Triton's cache_miss time. */
  private keep(cached: CacheDeps, key: string, version: ModelVersion, answer: { jobId: string; model_version: string; outputs: OutputTensor[] }): void {
    const t0 = performance.now();
    cached.cache.set(key, answer);
    cached.stats.add(statsKey(version.model, version.version), STAT.cacheMissNs, msToNs(performance.now() - t0));
  }
}
