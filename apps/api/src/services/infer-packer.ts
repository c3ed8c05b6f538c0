/**
 * InferPacker: v2 infer requests (REST, binary REST, gRPC) of one event-loop turn that may
 * share a job (inference/packing.ts: one tenant, one model version, same row shapes and
 * requested outputs; the same priority, and no `timeout`) become ONE job whose rows are theirs one after the other, and each
 * request answers with its own rows of it (turn-packer.ts says why).
 *
 * v2 infer is synchronous, so nobody polls, cancels or gets webhooks for a request's job, and
 * no Idempotency-Key names it: the job is a plain one. `X-Job-Id` names the shared job, which
 * belongs to the requests' one tenant.
 */
import { newJobId } from '@maas/shared';
import type { JobService, PreparedJob } from './jobs.js';
import { mergeRequests, packKey } from '../inference/packing.js';
import { mayPack, TurnPacker } from './turn-packer.js';

/** Where a request's rows are: the job that holds them, from row `offset`; `shared` when other requests' rows are in it too. */
export interface PackedPlace {
  jobId: string;
  offset: number;
  shared: boolean;
}

export class InferPacker {
  private readonly packer: TurnPacker<PackedPlace>;

  constructor(private readonly jobs: JobService) {
    this.packer = new TurnPacker(async (tenant, prepared) => {
      // Each request is counted against its tenant's quota on its own (JobService.reserveEach).
      const id = newJobId();
      const { taken, reserved, refused } = await this.jobs.reserveEach(tenant, prepared, id, (i) => `r${i}`);
      if (taken.length === 0) return refused as Error[];
      const { checked, offsets } = mergeRequests(taken.map((i) => prepared[i]!.checked));
      const { job } = await this.jobs.enqueue(tenant, { ...prepared[taken[0]!]!, checked }, { requests: taken.length, id, reserved });
      // The requests taken hold the job's rows in their order: the n-th taken, the n-th offset.
      let n = 0;
      return prepared.map((_, i) => refused[i] ?? { jobId: job.id, offset: offsets[n++]!, shared: taken.length > 1 });
    });
  }

  /** Queues the request (with those of this turn it can share a job with); resolves once queued. */
  submit(tenant: string, prepared: PreparedJob): Promise<PackedPlace> {
    if (!mayPack(prepared)) return this.alone(tenant, prepared);
    const { req, version, checked } = prepared;
    return this.packer.submit(tenant, prepared, packKey(tenant, version.model, version.version, checked, req.priority));
  }

  /** Queues the request in a job of its own. */
  alone(tenant: string, prepared: PreparedJob): Promise<PackedPlace> {
    return this.jobs.enqueue(tenant, prepared).then(({ job }) => ({ jobId: job.id, offset: 0, shared: false }));
  }
}
