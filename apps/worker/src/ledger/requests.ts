/**
 * How many client requests a job stands for, as clients, Triton's statistics and the metrics
 * count them: the API packs several `/v1/jobs` members or v2 infer requests into one BullMQ job.
 */
import type { InferenceJobData } from '@maas/shared';
import type { JobEnd } from './endings.js';

/**
 * PURE: the requests a failed job counts as failed. v2 infer requests packed into one job (no
 * `members`: not `/v1/jobs`) whose run failed (one request's rows can fail it: an index out of
 * a table's range) count none: the API runs each of them again alone (services/inference.ts),
 * and those runs count, so a request is counted once, as Triton counts it. A carrier's members
 * fail with it, each a job of its own: all count.
 */
export function failedRequests(data: Pick<InferenceJobData, 'requests' | 'members'>, end: Extract<JobEnd, { state: 'failed' }>): number {
  const requests = requestsOf(data);
  return requests > 1 && !data.members && end.error.type === 'inference-failed' ? 0 : requests;
}

/** PURE: the requests a job carries: its members (a `/v1/jobs` carrier), its v2 requests, or itself. */
export function requestsOf(data: Pick<InferenceJobData, 'requests' | 'members'>): number {
  return data.members?.length ?? data.requests ?? 1;
}
