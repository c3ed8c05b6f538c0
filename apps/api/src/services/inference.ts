/**
 * Synchronous inference for the KServe v2 front doors (REST, binary REST, gRPC): one job
 * through the same JobService (validation, queue, batcher) as `/v1/jobs`, then a wait for its
 * end. A failed, canceled or unfinished job becomes the typed error every front door maps.
 */
import { InferenceError, NotFoundError, WaitTimeoutError, type InputTensor, type OutputTensor, type RequestedOutput } from '@maas/shared';
import type { JobService } from './jobs.js';

export interface InferCall {
  model: string;
  /** as the client sent it (a digit string, or empty/absent for the newest version) */
  version?: string | undefined;
  id?: string | undefined;
  inputs: InputTensor[];
  outputs?: RequestedOutput[] | undefined;
}

export interface InferResult {
  model_name: string;
  model_version: string;
  id: string;
  outputs: OutputTensor[];
  /** the job that ran it (REST answers it in `X-Job-Id`) */
  jobId: string;
}

export class InferenceService {
  constructor(
    private readonly jobs: JobService,
    private readonly timeoutMs: number,
    private readonly shutdown: AbortSignal,
  ) {}

  /**
   * `onCreated` hears the job id as soon as the job is queued. `limit` bounds the wait further:
   * a gRPC client's deadline, and a signal aborted when the client goes away.
   */
  async infer(
    tenant: string,
    call: InferCall,
    onCreated?: (jobId: string) => void,
    limit: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<InferResult> {
    if (call.version && !/^[1-9][0-9]{0,8}$/.test(call.version)) throw new NotFoundError('model version', `${call.model}/${call.version}`);
    const { job: created } = await this.jobs.create(tenant, {
      model: call.model,
      ...(call.version ? { version: Number(call.version) } : {}),
      inputs: call.inputs,
      ...(call.outputs ? { outputs: call.outputs } : {}),
    });
    onCreated?.(created.id);
    const ms = Math.max(0, Math.min(this.timeoutMs, limit.timeoutMs ?? Infinity));
    const signal = limit.signal ? AbortSignal.any([this.shutdown, limit.signal]) : this.shutdown;
    const job = await this.jobs.wait(tenant, created.id, ms, signal, true);
    if (job.status === 'succeeded') {
      return { model_name: job.model, model_version: job.version, id: call.id ?? job.id, outputs: job.outputs ?? [], jobId: job.id };
    }
    const ext = { job_id: job.id, job_status: job.status };
    if (job.status === 'failed' || job.status === 'canceled') {
      throw new InferenceError(`job ${job.id} ${job.status}: ${job.error?.message ?? ''}`, { ...ext, error: job.error });
    }
    throw new WaitTimeoutError(`job ${job.id} did not finish within ${ms / 1000} s; poll GET /v1/jobs/${job.id}`, ext);
  }
}
