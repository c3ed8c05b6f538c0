/**
 * TurnPacker: requests that reach this API process in the same event-loop turn and may share a
 * BullMQ job (equal pack keys, inference/packing.ts) are handed to `enqueue` together, in packs
 * of at most the model's `max_batch_size` rows (one ONNX run), in arrival order.
 *
 * Why: BullMQ's open edition costs an add, a fetch and a completion script per job (about 40
 * Redis commands) whatever its rows, and the worker's per-job work (lock, decode, settle,
 * announce) is per job too; N requests packed pay that once. At one client a request goes
 * alone, a turn later at most (`setImmediate`), so packing costs no latency; under load this
 * is where the requests meet. Under load (the last flush packed requests together), a flush
 * waits one turn more, so the requests read in the next turn meet them too: at 64 clients
 * packs of 25–29 requests became 38–43, with fewer jobs to queue, fetch and settle a request
 * (jobs/s level to +10 %, the worker's and Redis's CPU a request about a fifth lower;
 * BENCHMARKS.md round 14). A lone request never meets that wait: the flush before it packed
 * no company. Two users: v2 infer (infer-packer.ts) and `/v1/jobs` (job-packer.ts). If
 * queueing a pack fails (a full queue, Redis down), every request in it gets that error;
 * `enqueue` may also refuse a request alone (an Error in its place: one past its tenant's
 * quota, JobService.reserveEach).
 */
import { planPacks } from '../inference/packing.js';
import type { PreparedJob } from './jobs.js';

interface Pending<R> {
  tenant: string;
  prepared: PreparedJob;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/** Queues one pack: requests of one tenant and pack key, in row order; one result per request (an Error: that request refused alone, as by its quota). */
export type PackEnqueue<R> = (tenant: string, prepared: PreparedJob[]) => Promise<(R | Error)[]>;

export class TurnPacker<R> {
  /** this turn's requests by pack key, in arrival order */
  private groups = new Map<string, Pending<R>[]>();
  private flushQueued = false;
  /** the last flush packed two requests or more together: this process is under load */
  private loaded = false;
  /** the queued flush has already waited its extra turn */
  private waited = false;

  constructor(private readonly enqueue: PackEnqueue<R>) {}

  /** Queues the request with those of this turn of the same `key`; resolves once queued. */
  submit(tenant: string, prepared: PreparedJob, key: string): Promise<R> {
    return new Promise((resolve, reject) => {
      let group = this.groups.get(key);
      if (!group) this.groups.set(key, (group = []));
      group.push({ tenant, prepared, resolve, reject });
      if (!this.flushQueued) {
        this.flushQueued = true;
        setImmediate(this.onTurn);
      }
    });
  }

  /** The end of a turn with requests gathered: flush them, or under load wait one turn more. */
  private readonly onTurn = (): void => {
    if (this.loaded && !this.waited) {
      this.waited = true;
      setImmediate(this.onTurn);
      return;
    }
    this.waited = false;
    this.flush();
  };

  private flush(): void {
    this.flushQueued = false;
    const groups = this.groups;
    this.groups = new Map();
    this.loaded = false;
    for (const pending of groups.values()) {
      if (pending.length > 1) this.loaded = true;
      const cap = pending[0]!.prepared.version.maxBatchSize;
      for (const pack of planPacks(pending.map((p) => p.prepared.checked.rows), cap)) {
        void this.queue(pack.map((i) => pending[i]!));
      }
    }
  }

  private async queue(pack: Pending<R>[]): Promise<void> {
    try {
      const results = await this.enqueue(pack[0]!.tenant, pack.map((p) => p.prepared));
      pack.forEach((p, i) => {
        const result = results[i]!;
        if (result instanceof Error) p.reject(result);
        else p.resolve(result);
      });
    } catch (err) {
      for (const p of pack) p.reject(err);
    }
  }
}

/**
 * Whether a request may wait for a turn's company at all: its model batches, it leaves room,
 * and it has no `timeout_ms` (its deadline is its own: a job of many requests has one).
 */
export function mayPack(prepared: PreparedJob): boolean {
  const { req, version, checked } = prepared;
  return version.maxBatchSize > 1 && checked.rows < version.maxBatchSize && !req.timeout_ms;
}
