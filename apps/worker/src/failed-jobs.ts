/**
 * Who a failed run's line names: the public ids of its jobs (a carrier's members, a batch
 * chunk's batch), at most SHOWN of them with the count, and their distinct tenants, so an
 * on-call can follow one job id from the API to the worker and its webhook.
 */
import type { Task } from './task.js';

/** Job ids a line shows at most (the count says how many there were). */
export const SHOWN = 20;

export interface FailedJobs {
  job_ids: string[];
  jobs: number;
  batch_ids?: string[];
  tenants: string[];
}

/** PURE: the jobs of `tasks` as a failure line names them (a carrier's own id is never public: its members' are). */
export function failedJobs(tasks: Iterable<Pick<Task, 'job'>>): FailedJobs {
  const ids: string[] = [];
  const batches = new Set<string>();
  const tenants = new Set<string>();
  for (const { job } of tasks) {
    tenants.add(job.data.tenant);
    if (job.data.batch) batches.add(job.data.batch.id);
    if (job.data.members?.length) ids.push(...job.data.members.map((m) => m.id));
    else if (job.id !== undefined) ids.push(job.id);
  }
  return {
    job_ids: ids.slice(0, SHOWN),
    jobs: ids.length,
    ...(batches.size ? { batch_ids: [...batches].slice(0, SHOWN) } : {}),
    tenants: [...tenants].slice(0, SHOWN),
  };
}
