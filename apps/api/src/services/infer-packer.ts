/**
 * InferPacker: v2 infer requests (REST, binary REST, gRPC) that reach this API process in the
 * same event-loop turn are queued together: those that may share a job (inference/packing.ts:
 * one tenant, one model version, same row shapes and requested outputs) become ONE job whose
 * rows are theirs one after the other, and each request answers with its own rows of it.
 *
 * Why: BullMQ's open edition costs an add, a fetch and a completion script per job (about 40
 * Redis commands) whatever its rows, and the worker's per-job work (lock, decode, settle,
 * announce) is per job too. N concurrent requests packed pay that once. Under load this is
 * where the API's requests meet; at one client a request goes alone, a turn later at most
 * (`setImmediate`), so packing costs no latency.
 *
 * Only v2 infer is packed: it is synchronous, so nobody polls, cancels or gets webhooks for a
 * request's job, and no Idempotency-Key names it. `X-Job-Id` names the shared job, which
 * belongs to the requests' one tenant. A pack never exceeds the model's `max_batch_size` rows;
 * models that cannot batch are never packed. If queueing the pack fails (a full queue, a
 * quota, Redis down), every request in it gets that error.
 */
import type { JobService, PreparedJob } from './jobs.js';
import { mergeRequests, packKey, planPacks } from '../inference/packing.js';

/** Where a request's rows are: the job that holds them, from row `offset`. */
export interface PackedPlace {
  jobId: string;
  offset: number;
}

interface Member {
  tenant: string;
  prepared: PreparedJob;
  resolve: (place: PackedPlace) => void;
  reject: (err: unknown) => void;
}

export class InferPacker {
  /** this turn's requests by pack key, in arrival order */
  private groups = new Map<string, Member[]>();
  private flushQueued = false;

  constructor(private readonly jobs: JobService) {}

  /** Queues the request (with those of this turn it can share a job with); resolves once queued. */
  submit(tenant: string, prepared: PreparedJob): Promise<PackedPlace> {
    const { version, checked } = prepared;
    if (version.maxBatchSize <= 1 || checked.rows >= version.maxBatchSize) {
      return this.jobs.enqueue(tenant, prepared).then(({ job }) => ({ jobId: job.id, offset: 0 }));
    }
    return new Promise((resolve, reject) => {
      const key = packKey(tenant, version.model, version.version, checked);
      let group = this.groups.get(key);
      if (!group) this.groups.set(key, (group = []));
      group.push({ tenant, prepared, resolve, reject });
      if (!this.flushQueued) {
        this.flushQueued = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushQueued = false;
    const groups = this.groups;
    this.groups = new Map();
    for (const members of groups.values()) {
      const cap = members[0]!.prepared.version.maxBatchSize;
      for (const pack of planPacks(members.map((m) => m.prepared.checked.rows), cap)) {
        void this.enqueue(pack.map((i) => members[i]!));
      }
    }
  }

  private async enqueue(members: Member[]): Promise<void> {
    const first = members[0]!;
    try {
      const { checked, offsets } = mergeRequests(members.map((m) => m.prepared.checked));
      const { job } = await this.jobs.enqueue(first.tenant, { ...first.prepared, checked }, undefined, members.length);
      members.forEach((m, i) => m.resolve({ jobId: job.id, offset: offsets[i]! }));
    } catch (err) {
      for (const m of members) m.reject(err);
    }
  }
}
