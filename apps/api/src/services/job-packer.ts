/**
 * JobPacker: `/v1/jobs` creates of one event-loop turn that may share a job are queued as ONE
 * carrier job (payloads.ts `members`), each still a public job of its own: its own id, index
 * entry, metadata, rows of the outputs, and cancel (turn-packer.ts says why; the members'
 * view is views/job.ts `toMemberObject`). A create that arrives alone in its turn is queued
 * as a plain job, as before packing.
 *
 * Only jobs nobody can tell apart from a plain one are packed: no webhook (its events and
 * retries belong to one job), no `timeout_ms` (a deadline is the job's), no Idempotency-Key
 * (a replay must find the job it made), and a priority equal to the others' (in the key).
 */
import type { CreateResult, JobService, PreparedJob } from './jobs.js';
import { packKey } from '../inference/packing.js';
import { mayPack, TurnPacker } from './turn-packer.js';

export class JobPacker {
  private readonly packer: TurnPacker<CreateResult>;

  constructor(private readonly jobs: JobService) {
    this.packer = new TurnPacker(async (tenant, prepared) => {
      if (prepared.length === 1) return [await this.jobs.enqueue(tenant, prepared[0]!)];
      return (await this.jobs.enqueueMembers(tenant, prepared)).map((job) => (job instanceof Error ? job : { job, created: true }));
    });
  }

  /** Queues the create (alone, or with those of this turn it can share a job with). */
  submit(tenant: string, prepared: PreparedJob, idempotencyKey?: string): Promise<CreateResult> {
    const { req, version, checked } = prepared;
    if (idempotencyKey || req.webhook || !mayPack(prepared)) return this.jobs.enqueue(tenant, prepared, { idempotencyKey });
    return this.packer.submit(tenant, prepared, packKey(tenant, version.model, version.version, checked, req.priority));
  }
}
