/**
 * JobService: the only module that enqueues or reads inference jobs in BullMQ.
 *
 * create: model lookup → tensor check (nothing invalid is queued) → idempotency claim →
 * queue-depth check → quota reservation beside the tenant's turn (fairness/) → index + enqueue. get/wait/cancel find the job's queue through the
 * index key, hide other tenants' jobs as 404, and build the public view.
 */
import { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  cancelJob, canceledKey, checkRequest, chunkRows, dieAt, DEFAULT_PRIORITY, isTerminal, isWellFormedId, JOB_EVENTS_CHANNEL, jobIndexKey,
  newJobId, NotFoundError, toJobObject, PAYLOAD_VERSION, QueueFullError, toEncoded, ValidationError, type InferenceJobData,
  type InferenceJobResult, type JobObject, type JobRequest, type JobEventMessage, jobWebhookEvent, webhookUrlProblem,
  type OutboxRelay, type CheckedRequest, type ModelVersion,
} from '@maas/shared';
import type { FairShare } from '../fairness/fair-share.js';
import { bullPriority, quantum } from '../fairness/lanes.js';
import type { Admission } from '../quotas/ledger.js';
import type { ModelCatalog } from './catalog.js';
import type { IdempotencyStore } from './idempotency.js';
import type { JobNotifier } from './notifier.js';
import type { InferenceQueue, QueueRegistry } from './queues.js';

export interface JobServiceOptions {
  retentionSeconds: number;
  maxQueueDepth: number;
  /** attempts for failures that may pass (a Redis hiccup mid-batch); model errors never retry */
  attempts: number;
  /** WEBHOOK_ALLOW_PRIVATE */
  allowPrivateWebhooks: boolean;
}

/** A request checked against its model, ready to queue (one job, or several packed into one). */
export interface PreparedJob {
  req: JobRequest;
  version: ModelVersion;
  checked: CheckedRequest;
}

export interface CreateResult {
  job: JobObject;
  /** false when an Idempotency-Key replay returned an existing job */
  created: boolean;
}


export class JobService {
  constructor(
    private readonly redis: Redis,
    private readonly catalog: ModelCatalog,
    private readonly queues: QueueRegistry,
    private readonly notifier: JobNotifier,
    private readonly idempotency: IdempotencyStore,
    private readonly opts: JobServiceOptions,
    private readonly relay: OutboxRelay,
  ) {}

  /** the tenant's queued-rows quota (quotas/ledger.ts); unset: no quota */
  admission: Admission | undefined;
  /** tenants' turns on a shared model (fairness/fair-share.ts); unset: first come, first served per priority */
  fair: FairShare | undefined;

  async create(tenant: string, req: JobRequest, idempotencyKey?: string): Promise<CreateResult> {
    return this.enqueue(tenant, this.prepare(req), idempotencyKey);
  }

  /** Everything a create checks before touching Redis: the model, the tensors, the webhook URL. */
  prepare(req: JobRequest): PreparedJob {
    const { model, version } = this.catalog.resolve(req.model, req.version);
    const checked = checkRequest(version, req.inputs, req.outputs ?? [], model.labels);
    if (!checked.ok) throw new ValidationError(checked.issues);
    const webhookProblem = req.webhook && webhookUrlProblem(req.webhook, { allowPrivate: this.opts.allowPrivateWebhooks });
    if (webhookProblem) throw new ValidationError([{ path: 'webhook', message: webhookProblem }]);
    return { req, version, checked: checked.value };
  }

  /** Queues a prepared job (`requests`: the v2 requests packed into it, see infer-packer.ts). */
  async enqueue(tenant: string, prepared: PreparedJob, idempotencyKey?: string, requests = 1): Promise<CreateResult> {
    const { req, version, checked } = prepared;
    let id = newJobId();
    let replayed = false;
    if (idempotencyKey) {
      // --- idempotency (see services/idempotency.ts): a replay whose job is not queued yet
      // (its first request is between claim and enqueue, or died there) queues it under the
      // claimed id; BullMQ keeps one job per id, so racing requests still make one job.
      const existing = await this.idempotency.claim(tenant, idempotencyKey, req, id);
      if (existing) {
        const found = await this.get(tenant, existing).catch((err: unknown) => {
          if (err instanceof NotFoundError) return undefined;
          throw err;
        });
        if (found) return { job: found, created: false };
        id = existing;
        replayed = true;
      }
    }
    // --- end idempotency
    try {
      const queue = this.queues.forVersion(version.model, version.version);
      const depth = await this.queues.queuedJobs(queue);
      if (depth >= this.opts.maxQueueDepth) throw new QueueFullError(`${version.model}/${version.version}`, depth, 1);
      const priority = req.priority ?? DEFAULT_PRIORITY;
      // quota: reserve the tenant's queued rows (429 past its quota); released below if enqueueing fails.
      // Beside it, the tenant's turn on the model: its BullMQ priority (lanes.ts).
      const [, turns] = await Promise.all([
        this.admission?.reserve(tenant, { queue: queue.name, jobId: id, rows: checked.rows }),
        this.fair?.priorities(queue.name, tenant, priority, [checked.rows], quantum(priority, version, chunkRows(version))),
      ]);
      const data: InferenceJobData = {
        v: PAYLOAD_VERSION,
        model: version.model,
        version: version.version,
        tenant,
        rows: checked.rows,
        inputs: checked.inputs.map(toEncoded),
        outputs: checked.outputs,
        priority,
        ...(requests > 1 ? { requests } : {}),
        ...(req.timeout_ms ? { deadline: Date.now() + req.timeout_ms } : {}),
        ...(req.metadata ? { metadata: req.metadata } : {}),
        ...(req.webhook ? { webhook: { url: req.webhook, events: req.webhook_events_filter ?? ['start', 'completed'] } } : {}),
      };
      // The index and the job travel together (one round trip's wait): nobody can ask for the
      // job before this request answers, and it answers only once both are written.
      this.rememberQueue(id, queue.name);
      const [, job] = await Promise.all([
        this.redis.set(jobIndexKey(id), queue.name, 'EX', this.opts.retentionSeconds + 3600),
        queue.add('infer', data, {
          jobId: id,
          priority: turns?.[0] ?? bullPriority(priority),
          attempts: this.opts.attempts,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: this.opts.retentionSeconds },
          removeOnFail: { age: this.opts.retentionSeconds },
        }),
      ]);
      if (idempotencyKey) await this.idempotency.commit(tenant, idempotencyKey, id);
      return { job: toJobObject(job as never, 'waiting', null), created: !replayed };
    } catch (err) {
      await this.admission?.release(tenant, [{ queue: this.queues.forVersion(version.model, version.version).name, jobId: id, rows: 0 }]).catch(() => {}); // quota
      if (idempotencyKey) await this.idempotency.release(tenant, idempotencyKey, id).catch(() => {});
      throw err;
    }
  }

  /** jobId → queue name, for jobs this process created or read recently (saves the index read). */
  private readonly queueOf = new Map<string, string>();

  private rememberQueue(id: string, queue: string): void {
    if (this.queueOf.size >= 20_000) this.queueOf.delete(this.queueOf.keys().next().value!);
    this.queueOf.set(id, queue);
  }

  private async locate(tenant: string, id: string): Promise<{ queue: InferenceQueue; job: Job<InferenceJobData, InferenceJobResult>; state: string; canceledAt: number | null }> {
    if (!isWellFormedId(id, 'job')) throw new NotFoundError('job', id);
    const queueName = this.queueOf.get(id) ?? (await this.redis.get(jobIndexKey(id)));
    if (!queueName) throw new NotFoundError('job', id);
    const queue = this.queues.byName(queueName);
    const [job, canceled] = await Promise.all([
      Job.fromId<InferenceJobData, InferenceJobResult>(queue, id),
      this.redis.zscore(canceledKey(queue.name), id),
    ]);
    // Another tenant's job is reported exactly like a missing one.
    if (!job || job.data?.tenant !== tenant) throw new NotFoundError('job', id);
    this.rememberQueue(id, queueName);
    // A finished job's record says how it ended; only a live one needs BullMQ's state lookup.
    const finished = (j: Job<InferenceJobData, InferenceJobResult>) => (j.failedReason && j.returnvalue == null ? 'failed' : 'completed');
    let state = job.finishedOn ? finished(job) : await queue.getJobState(id);
    let record = job;
    if (!job.finishedOn && (state === 'completed' || state === 'failed')) {
      // It finished between the two reads: read the record again for its outputs or error.
      record = (await Job.fromId<InferenceJobData, InferenceJobResult>(queue, id)) ?? job;
      state = record.finishedOn ? finished(record) : state;
    }
    if (state === 'unknown') throw new NotFoundError('job', id);
    return { queue, job: record, state, canceledAt: canceled === null ? null : Number(canceled) };
  }

  async get(tenant: string, id: string): Promise<JobObject> {
    const { job, state, canceledAt } = await this.locate(tenant, id);
    return toJobObject(job as never, state, canceledAt);
  }

  /**
   * The job once it is terminal or `ms` have passed (or `signal` aborted). `fresh`: the caller
   * just created the job, so skip the first read unless its event already came.
   */
  async wait(tenant: string, id: string, ms: number, signal?: AbortSignal, fresh = false): Promise<JobObject> {
    const deadline = Date.now() + ms;
    if (fresh && !this.notifier.heard(id) && ms > 0) await this.notifier.next(id, ms, signal);
    // A job that just succeeded usually comes with its record: no need to read it back.
    const settled = this.notifier.settled(id, tenant);
    if (settled) return toJobObject({ ...settled, data: settled.data as InferenceJobData }, 'completed', null);
    for (;;) {
      const left = deadline - Date.now();
      // Subscribe before reading, so an event between the read and the wait is not missed.
      const listener = left > 0 && !signal?.aborted ? this.notifier.listen(id, left, signal) : undefined;
      let job: JobObject;
      try {
        job = await this.get(tenant, id);
      } catch (err) {
        listener?.dispose();
        throw err;
      }
      if (!listener || isTerminal(job.status)) {
        listener?.dispose();
        return job;
      }
      await listener.woken;
    }
  }

  /**
   * Cancels a job: a queued job never runs (a worker that reaches it fails it as canceled);
   * a job already in a worker's batch window is dropped from it; one already computing finishes.
   * Through the ledger (CANCEL_JOB_LUA): a queued job's cancel is its ending, recorded once
   * with its job.completed in one atomic step, relayed from here (by a worker's sweeper if
   * this process dies first); a held job is only marked, and its worker records how it ends.
   */
  async cancel(tenant: string, id: string): Promise<JobObject> {
    const { queue, job: record, state, canceledAt } = await this.locate(tenant, id);
    const current = toJobObject(record as never, state, canceledAt);
    if (isTerminal(current.status)) return current;
    // The job.completed it gets if the cancel ends it now (a queued job): canceled at `now`.
    const now = Date.now();
    const event = jobWebhookEvent('completed', toJobObject(record as never, 'waiting', now), tenant, now);
    const { verdict, items } = await cancelJob(this.redis, queue.name, id, this.opts.retentionSeconds * 1000, event, now);
    if (verdict === 'canceled') {
      dieAt('cancel-recorded');
      await this.relay.relay(queue.name, items);
      await this.admission?.release(tenant, [{ queue: queue.name, jobId: id, rows: 0 }]); // quota: it will never run
    }
    if (verdict === 'canceled' || verdict === 'running') {
      await this.redis.publish(JOB_EVENTS_CHANNEL, JSON.stringify({ id, event: 'canceled' } satisfies JobEventMessage)).catch(() => 0);
    }
    return this.get(tenant, id);
  }
}
