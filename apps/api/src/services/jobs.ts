/**
 * JobService: interactive inference jobs (`/v1/jobs`, v2 infer) in BullMQ: their creation and
 * their reads. Other code meets the same queues: a batch's chunks are enqueued by
 * services/batches.ts (its upload, with the same retries: job-retry.ts), jobs past their
 * time are read by services/expiry.ts, and the `/admin` status page lists them (admin/status.ts).
 *
 * create: model lookup → tensor check (nothing invalid is queued) → packing with the creates of
 * the same turn (job-packer.ts) → idempotency claim → queue-depth check → quota reservation
 * beside the tenant's turn (fairness/) → index + enqueue (large inputs as raw bytes beside the
 * job). get/wait/cancel find the job's queue (and, for a job packed into a carrier, the carrier)
 * through the index key, hide other tenants' jobs as 404, and build the public view (reading
 * large outputs stored beside the job).
 */
import { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  clusterNow, bullJobKey, CANCELED_BEFORE_IT_RAN, isRedisUnavailable, isCommandTimeout, RedisUnavailableError, cancelJob, canceledKey, checkRequest, decodeJobError, encodeJobError, DEADLINE_QUEUES_KEY, deadlinesKey, chunkRows, dieAt, DEFAULT_PRIORITY, isTerminal, isWellFormedId, JOB_EVENTS_CHANNEL, jobIndexKey,
  jobPayloadKey, newJobId, NotFoundError, numericBytes, packPayload, RAW_PAYLOAD_MIN_BYTES, toJobObject, toMemberObject, jobIndexValue, parseJobIndex, cancelMember, type JobMember, PAYLOAD_VERSION, QueueFullError, toEncoded, ValidationError, type InferenceJobData,
  type InferenceJobResult, type JobObject, type JobRequest, type JobEventMessage, jobWebhookEvent, webhookUrlProblem, type WebhookEvent,
  type OutboxRelay, type CheckedRequest, type Model, type ModelVersion, type SettledRecord, type StoredJob, unpackPayload, parseEndMarker, type EndMarker, type Ending,
} from '@maas/shared';
import type { FairShare } from '../fairness/fair-share.js';
import { bullPriority, quantum } from '../fairness/lanes.js';
import { RETRY_BACKOFF } from './job-retry.js';
import { memberEntryId, type Admission, type LedgerEntry } from '../quotas/queued-rows.js';
import type { ModelCatalog } from './catalog.js';
import type { IdempotencyStore } from './idempotency.js';
import { mergeRequests } from '../inference/packing.js';
import { JobPacker } from './job-packer.js';
import { smallResults, type CompletionEvents } from './completion-events.js';
import type { JobNotifier } from './notifier.js';
import type { InferenceQueue, QueueRegistry } from './queues.js';
import type { StopSignal } from './stop-signal.js';
import type { CacheSize } from '../metrics.js';
import { RecentJobs } from './recent-jobs.js';

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
  model: Model;
  version: ModelVersion;
  checked: CheckedRequest;
}

export interface EnqueueOptions {
  idempotencyKey?: string | undefined;
  /** requests packed into the job (v2 infer, infer-packer.ts); default 1 */
  requests?: number;
  /** `/v1/jobs` packed into the job, which is then their carrier (see enqueueMembers) */
  members?: JobMember[];
  /** the job's id, made beforehand (a carrier whose members' rows are reserved under it) */
  id?: string;
  /** quota entries the caller reserved for the job (a carrier's members'): released if it is not queued; none is reserved here then */
  reserved?: LedgerEntry[];
}

/** What a pack's quota let in (JobService.reserveEach). */
export interface PackAdmission {
  /** the requests taken, by index, in order */
  taken: number[];
  /** their reservations, to release if the pack is not queued; undefined without a quota */
  reserved: LedgerEntry[] | undefined;
  /** by index: the error of a request refused alone */
  refused: (Error | undefined)[];
}

/**
 * PURE: a job's ledger ending (`ended`, and a completion's `endedResult`) as the fields of its
 * BullMQ record that say it, given the failure BullMQ recorded: undefined when that already
 * says it (a cancel BullMQ failed as canceled), or the ending cannot be read. A cancel of a job
 * whose worker had died is recorded while BullMQ still holds the job active: its stall check
 * can then fail the job with its own words, over the cancel's.
 */
export function recordedEnding(ended: EndMarker, endedResult: string | null, failedReason?: string): { state: 'completed' | 'failed'; fields: Partial<Job<InferenceJobData, InferenceJobResult>> } | undefined {
  let ending: Ending;
  try {
    ending = parseEndMarker(ended);
  } catch {
    return undefined;
  }
  switch (ending.state) {
    case 'canceled':
      return decodeJobError(failedReason).type === 'canceled' ? undefined : { state: 'failed', fields: { failedReason: encodeJobError(CANCELED_BEFORE_IT_RAN) } };
    case 'failed':
      return { state: 'failed', fields: { failedReason: encodeJobError(ending.error) } };
    case 'completed':
      if (!endedResult) return undefined;
      try {
        return { state: 'completed', fields: { returnvalue: JSON.parse(endedResult) as InferenceJobResult, failedReason: undefined as unknown as string } };
      } catch {
        return undefined;
      }
  }
}

/** Where a job is: its queue, its BullMQ job (for a member: its carrier) and their state. */
interface Located {
  id: string;
  queue: InferenceQueue;
  job: Job<InferenceJobData, InferenceJobResult>;
  state: string;
  canceledAt: number | null;
  /** `id` is a member of the carrier `job` */
  member: boolean;
  /**
   * When the read began: a job its state shows queued was queued then, so past its deadline at
   * that moment it will never run (the worker that reaches it later finds it so too).
   */
  readAt: number;
}

export interface CreateResult {
  job: JobObject;
  /** false when an Idempotency-Key replay returned an existing job */
  created: boolean;
}


/** Sets `key` in an insertion-ordered map of at most `max` entries, dropping the oldest. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/**
 * A job's add went out and Redis did not answer it in time (it holds its connections): Redis
 * runs it once it answers, so the job may be queued all the same. The 503 names the job, so
 * its client can find out rather than queue another.
 */
export class AddUnanswered extends RedisUnavailableError {
  constructor(cause: unknown, readonly jobId: string, withKey: boolean) {
    super(cause, 'silent', `job ${jobId} may have been queued all the same: GET /v1/jobs/${jobId} says once Redis answers${withKey ? ', or send it again with the same Idempotency-Key' : ''}`);
  }
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
  ) {
    this.packer = new JobPacker(this);
  }

  private readonly packer: JobPacker;

  /** the tenant's queued-rows quota (quotas/queued-rows.ts); unset: no quota */
  admission: Admission | undefined;
  /** tenants' turns on a shared model (fairness/fair-share.ts); unset: first come, first served per priority */
  fair: FairShare | undefined;
  /** BullMQ's completion events of the queues this process enqueues to (completion-events.ts); unset: announcements only */
  completions: CompletionEvents | undefined;

  async create(tenant: string, req: JobRequest, idempotencyKey?: string): Promise<CreateResult> {
    return this.packer.submit(tenant, this.prepare(req), idempotencyKey);
  }

  /** Everything a create checks before touching Redis: the model, the tensors, the webhook URL. */
  prepare(req: JobRequest): PreparedJob {
    const { model, version } = this.catalog.resolve(req.model, req.version);
    const checked = checkRequest(version, req.inputs, req.outputs ?? []);
    if (!checked.ok) throw new ValidationError(checked.issues);
    const webhookProblem = req.webhook && webhookUrlProblem(req.webhook, { allowPrivate: this.opts.allowPrivateWebhooks });
    if (webhookProblem) throw new ValidationError([{ path: 'webhook', message: webhookProblem }]);
    return { req, model, version, checked: checked.value };
  }

  /**
   * Queues prepared `/v1/jobs` creates of one tenant and pack key (job-packer.ts) as one carrier
   * job whose rows are theirs in this order; each gets its own id and index entry.
   */
  async enqueueMembers(tenant: string, prepared: PreparedJob[]): Promise<(JobObject | Error)[]> {
    const carrierId = newJobId();
    const all: JobMember[] = prepared.map((p) => ({ id: newJobId(), rows: p.checked.rows, ...(p.req.metadata ? { metadata: p.req.metadata } : {}) }));
    const { taken, reserved, refused } = await this.reserveEach(tenant, prepared, carrierId, (i) => all[i]!.id);
    if (taken.length === 0) return refused as Error[];
    const { checked } = mergeRequests(taken.map((i) => prepared[i]!.checked));
    const members = taken.map((i) => all[i]!);
    const { metadata: _own, ...carrierReq } = prepared[taken[0]!]!.req;
    let job: JobObject;
    try {
      ({ job } = await this.enqueue(tenant, { ...prepared[taken[0]!]!, req: carrierReq, checked }, { members, id: carrierId, reserved }));
    } catch (err) {
      // Each request is told of its own job (the carrier's id is never shown).
      if (err instanceof AddUnanswered) return all.map((m, i) => refused[i] ?? new AddUnanswered(err.cause, m.id, false));
      throw err;
    }
    // Queued: the carrier's view with each member's id and metadata (no outputs yet to split).
    return all.map((m, i) => refused[i] ?? { ...job, id: m.id, metadata: m.metadata ?? null });
  }

  /**
   * quota: each request of a pack (of one tenant and model version) reserves its own rows, as
   * it would alone, under `carrierId`#its key (memberEntryId), so one past the quota is refused
   * alone and the others go in the carrier; a carrier reserved as one passed or was refused
   * whole. Sent in order; one refused looks again after a reconcile, by when a later one may
   * hold the rows. Resolves with the requests taken (their indices, in order), the entries
   * reserved for them (none without a quota: nothing to release), and each refused one's error.
   */
  async reserveEach(tenant: string, prepared: PreparedJob[], carrierId: string, key: (i: number) => string): Promise<PackAdmission> {
    const admission = this.admission;
    if (!admission) return { taken: prepared.map((_, i) => i), reserved: undefined, refused: [] };
    const first = prepared[0]!;
    const queue = this.queues.forVersion(first.version.model, first.version.version);
    const entries = prepared.map((p, i) => ({ queue: queue.name, jobId: memberEntryId(carrierId, key(i)), rows: p.checked.rows, job: true }));
    const settled = await Promise.allSettled(entries.map((e) => admission.reserve(tenant, e)));
    const taken = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    const refused = settled.map((r) => (r.status === 'fulfilled' ? undefined : r.reason instanceof Error ? r.reason : new Error(String(r.reason))));
    return { taken, reserved: taken.map((i) => entries[i]!), refused };
  }

  /** Queues a prepared job: alone, or as the carrier of `members`, or holding v2 `requests`. */
  async enqueue(tenant: string, prepared: PreparedJob, opts: EnqueueOptions = {}): Promise<CreateResult> {
    const { req, version, checked } = prepared;
    const { idempotencyKey, requests = 1, members, reserved } = opts;
    let id = opts.id ?? newJobId();
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
    /** What was written for a job not yet added: removed if it never is. */
    let unadded: { indexKeys: string[]; payload: string | undefined; ids: string[] } | undefined;
    /** Once the job is queued, a failure after (the idempotency commit) releases nothing: a retry with the key finds the job. */
    let added = false;
    /** The add went out: if Redis did not answer it in time, it may still queue the job. */
    let adding = false;
    try {
      const queue = this.queues.forVersion(version.model, version.version);
      if (smallResults(version)) this.completions?.watch(queue.keys.events!);
      const depth = (await this.queues.queuedJobs(queue)).value;
      if (depth >= this.opts.maxQueueDepth) throw new QueueFullError(`${version.model}/${version.version}`, depth, 1);
      const priority = req.priority ?? DEFAULT_PRIORITY;
      // quota: reserve the tenant's queued rows (429 past its quota); released below if enqueueing fails.
      // Beside it, the tenant's turn on the model: its BullMQ priority (lanes.ts).
      const [, turns] = await Promise.all([
        reserved ? undefined : this.admission?.reserve(tenant, { queue: queue.name, jobId: id, rows: checked.rows, job: true }),
        this.fair?.priorities(queue.name, tenant, priority, [checked.rows], quantum(priority, version, chunkRows(version))),
      ]);
      // Large inputs go beside the job as raw bytes (tensors/payload.ts), not base64 in it.
      const packed = numericBytes(checked.inputs) >= RAW_PAYLOAD_MIN_BYTES ? packPayload(checked.inputs) : undefined;
      const payload = packed && jobPayloadKey(queue.name, id);
      // The job's creation time: BullMQ's timestamp and the start of its timeout_ms alike (a
      // deadline taken before BullMQ stamped the job could precede it: completed_at < created_at).
      const createdAt = clusterNow();
      const data: InferenceJobData = {
        v: PAYLOAD_VERSION,
        model: version.model,
        version: version.version,
        tenant,
        rows: checked.rows,
        inputs: packed ? packed.inputs : checked.inputs.map(toEncoded),
        ...(payload ? { payload } : {}),
        outputs: checked.outputs,
        priority,
        ...(members ? { members, requests: members.length } : requests > 1 ? { requests } : {}),
        ...(req.timeout_ms ? { deadline: createdAt + req.timeout_ms } : {}),
        ...(req.metadata ? { metadata: req.metadata } : {}),
        // Kept and shown as the URL parser reads it (`http:/h` → `http://h/`: what is called), each event once;
        // the request itself stays as sent (its Idempotency-Key fingerprint).
        ...(req.webhook ? { webhook: { url: new URL(req.webhook).href, events: [...new Set<WebhookEvent>(req.webhook_events_filter ?? ['start', 'completed'])] } } : {}),
      };
      // What the job needs (its index: how its id is found; its inputs' bytes; its deadline) is
      // written first, and the job added only once all of it is: a write Redis refuses (out of
      // memory) is a 503 with nothing queued. Added beside them, a job whose payload SET was
      // refused ran anyway and sent webhooks for an id its client was told was not queued (a
      // Redis audit). A carrier is not indexed (its id is never shown): its members are.
      const ttl = this.opts.retentionSeconds + 3600;
      const indexed = members ? members.map((m) => [m.id, jobIndexValue(queue.name, id)] as const) : [[id, queue.name] as const];
      for (const [key, value] of indexed) this.rememberQueue(key, value);
      unadded = { indexKeys: indexed.map(([key]) => jobIndexKey(key)), payload, ids: indexed.map(([key]) => key) };
      await Promise.all([
        Promise.all(indexed.map(([key, value]) => this.redis.set(jobIndexKey(key), value, 'EX', ttl))),
        // On the queue's own connection, in the job's slot.
        packed && payload ? this.queues.connection.set(payload, packed.bytes, 'EX', ttl) : undefined,
        // A deadline is swept (services/expiry.ts): ended at it if the job is still queued then
        // (a deadline whose job never came finds none, and is dropped).
        data.deadline !== undefined
          ? Promise.all([this.redis.zadd(deadlinesKey(queue.name), data.deadline, id), this.redis.sadd(DEADLINE_QUEUES_KEY, queue.name)]) // two slots
          : undefined,
      ]);
      adding = true;
      const job = await queue.add('infer', data, {
        jobId: id,
        timestamp: createdAt,
        priority: turns?.[0] ?? bullPriority(priority),
        attempts: this.opts.attempts,
        backoff: RETRY_BACKOFF,
        removeOnComplete: { age: this.opts.retentionSeconds },
        removeOnFail: { age: this.opts.retentionSeconds },
      });
      unadded = undefined;
      added = true;
      if (idempotencyKey) await this.idempotency.commit(tenant, idempotencyKey, id);
      this.queuedHere.add(id, { timestamp: job.timestamp, data: { ...data, inputs: [] } });
      return { job: toJobObject(job as never, 'waiting', null), created: !replayed };
    } catch (err) {
      if (added) throw err;
      // Sent, unanswered (a Redis that holds its connections): the job is queued if Redis runs
      // the add once it answers again, so nothing of it is released or removed (its index and
      // inputs would be removed from under it), and the client is told how to find out.
      if (adding && isCommandTimeout(err)) throw new AddUnanswered(err, id, idempotencyKey !== undefined);
      const cleanup = async () => {
        await this.admission?.release(tenant, reserved ?? [{ queue: this.queues.forVersion(version.model, version.version).name, jobId: id, rows: 0 }]).catch(() => {}); // quota
        if (idempotencyKey) await this.idempotency.release(tenant, idempotencyKey, id).catch(() => {});
        // The index and inputs of a job never added (they would expire with their TTL anyway). Not
        // under an Idempotency-Key: its id is shared with a replay that may have queued it meanwhile.
        if (unadded && !idempotencyKey) {
          const { indexKeys, payload, ids } = unadded;
          for (const key of ids) this.queueOf.delete(key);
          await Promise.all([
            ...indexKeys.map((key) => this.redis.unlink(key)),
            payload ? this.queues.connection.unlink(payload) : undefined,
          ]).catch(() => {});
        }
      };
      // Redis away: the cleanup goes on behind the 503, which waits for it no more (each of its
      // commands could wait out the command timeout in turn: a network audit saw 10-20 s).
      if (isRedisUnavailable(err)) void cleanup();
      else await cleanup();
      throw err;
    }
  }

  /** jobId → its index value (queue, and carrier for a member), for jobs this process created or read recently (saves the index read). */
  private readonly queueOf = new Map<string, string>();

  private rememberQueue(id: string, indexValue: string): void {
    remember(this.queueOf, id, indexValue, 20_000);
  }

  /**
   * BullMQ id → what a job's record holds besides its result, for jobs this process queued
   * lately (bounded: recent-jobs.ts): with the result from BullMQ's completion event it is the
   * job's settled record.
   */
  private readonly queuedHere = new RecentJobs();

  /** What this process's job caches hold now (metrics). */
  get cacheSizes(): CacheSize[] {
    return [{ cache: 'queued_jobs', ...this.queuedHere.size }, { cache: 'job_queues', entries: this.queueOf.size }];
  }

  /** Lets go of what the job caches hold past their bounds (main.ts calls it on a timer, so an idle process does). */
  prune(): void {
    this.queuedHere.prune();
  }

  /**
   * The settled record of a job that just succeeded, without reading it back: its worker's
   * announcement, or BullMQ's completion event with what this process queued (a result from a
   * worker too old to carry its times is read back instead).
   */
  private settledRecord(bullId: string, tenant: string): SettledRecord | undefined {
    const announced = this.notifier.settled(bullId, tenant);
    if (announced) return announced;
    const queued = this.queuedHere.get(bullId);
    const result = queued && queued.data.tenant === tenant ? this.notifier.result(bullId) : undefined;
    if (!queued || result?.completed === undefined) return undefined;
    return { id: bullId, timestamp: queued.timestamp, processedOn: result.started, finishedOn: result.completed, data: queued.data, returnvalue: result };
  }

  /** The carrier of `id`, when this process knows `id` is a member (it created or read it). */
  private carrierOf(id: string): string | undefined {
    const indexed = this.queueOf.get(id);
    return indexed === undefined ? undefined : parseJobIndex(indexed).carrier;
  }

  /** Finds job `id` (its BullMQ job, or for a member its carrier's) and its state. */
  private async locate(tenant: string, id: string): Promise<Located> {
    const readAt = clusterNow();
    if (!isWellFormedId(id, 'job')) throw new NotFoundError('job', id);
    const indexed = this.queueOf.get(id) ?? (await this.redis.get(jobIndexKey(id)));
    if (!indexed) throw new NotFoundError('job', id);
    const { queue: queueName, carrier } = parseJobIndex(indexed);
    const queue = this.queues.byName(queueName);
    const bullId = carrier ?? id;
    const [job, canceled] = await Promise.all([
      Job.fromId<InferenceJobData, InferenceJobResult>(queue, bullId),
      this.redis.zscore(canceledKey(queue.name), id),
    ]);
    // Another tenant's job is reported exactly like a missing one.
    if (!job || job.data?.tenant !== tenant) throw new NotFoundError('job', id);
    this.rememberQueue(id, indexed);
    // A finished job's record says how it ended; only a live one needs BullMQ's state lookup.
    const finished = (j: Job<InferenceJobData, InferenceJobResult>) => (j.failedReason && j.returnvalue == null ? 'failed' : 'completed');
    let state = job.finishedOn ? finished(job) : await queue.getJobState(bullId);
    let record = job;
    if (!job.finishedOn && (state === 'completed' || state === 'failed')) {
      // It finished between the two reads: read the record again for its outputs or error.
      record = (await Job.fromId<InferenceJobData, InferenceJobResult>(queue, bullId)) ?? job;
      state = record.finishedOn ? finished(record) : state;
    }
    if (state === 'unknown') throw new NotFoundError('job', id);
    if (state === 'failed' && record.data.webhook) [record, state] = await this.asRecorded(queue, record);
    return { id, queue, job: record, state, canceledAt: canceled === null ? null : Number(canceled), member: carrier !== undefined, readAt };
  }

  /**
   * A webhook job BullMQ failed, as the ledger recorded its ending (the first recorded is the
   * one its job.completed told): BullMQ fails a job on its own (stalled past its limit, retries
   * used up) after a worker may have recorded its completion and died before settling it.
   */
  private async asRecorded(queue: InferenceQueue, job: Job<InferenceJobData, InferenceJobResult>): Promise<[Job<InferenceJobData, InferenceJobResult>, 'completed' | 'failed']> {
    const [ended, endedResult] = await this.redis.hmget(bullJobKey(queue.name, job.id!), 'ended', 'endedResult');
    const recorded = ended ? recordedEnding(ended, endedResult ?? null, job.failedReason) : undefined;
    if (!recorded) return [job, 'failed'];
    const copy = Object.assign(Object.create(Object.getPrototypeOf(job) as object) as Job<InferenceJobData, InferenceJobResult>, job, recorded.fields);
    return [copy, recorded.state];
  }

  private async view({ id, job, state, canceledAt, member, readAt }: Located): Promise<JobObject> {
    const record = await this.withOutputs(job as StoredJob, id);
    if (!member) return toJobObject(record, state, canceledAt, readAt);
    const view = toMemberObject(record, id, state, canceledAt);
    if (!view) throw new NotFoundError('job', id);
    return view;
  }

  /**
   * `record` with its outputs read, when its result keeps them apart (large outputs, stored
   * as raw bytes beside the job: payloads.ts `InferenceJobResult.payload`); else as it is.
   */
  private async withOutputs<T extends StoredJob>(record: T, publicId: string): Promise<T> {
    const result = record.returnvalue;
    if (!result?.payload || record.outputs) return record;
    const bytes = await this.redis.getBuffer(result.payload);
    // They expire with the job's index (its retention and an hour): past that, the job is gone
    // too, even where BullMQ has not yet removed its record (it cleans up as later jobs end).
    if (!bytes) throw new NotFoundError('job', publicId);
    return { ...record, outputs: unpackPayload(result.outputs, bytes) };
  }

  async get(tenant: string, id: string): Promise<JobObject> {
    return this.view(await this.locate(tenant, id));
  }

  /**
   * The job once it is terminal or `ms` have passed (or `signal` aborted). `fresh`: the caller
   * just created the job, so skip the first read unless its event already came; `timeoutMs` is
   * then its `timeout_ms`. A queued job with a `timeout_ms` is read again at its deadline, when
   * it reads as expired (views/job.ts).
   */
  async wait(tenant: string, id: string, ms: number, signal?: StopSignal, fresh = false, timeoutMs?: number): Promise<JobObject> {
    const deadline = Date.now() + ms;
    // A fresh job's deadline, as its create set it a moment ago; afterwards, as read.
    let expiresAt = fresh && timeoutMs ? clusterNow() + timeoutMs : undefined;
    // A member's end is its carrier's: watch the carrier, which this process knows if it created the member.
    const carrier = this.carrierOf(id);
    const bullId = carrier ?? id;
    if (fresh && !this.notifier.heard(bullId) && ms > 0) await this.notifier.next(bullId, Math.min(ms, untilExpiry(expiresAt)), signal);
    // A job that just succeeded usually comes with its record: no need to read it back. A
    // member only when fresh: nobody knows its id yet, so nobody can have canceled it.
    const settled = this.settledRecord(bullId, tenant);
    if (settled && (!carrier || fresh)) {
      const record = await this.withOutputs({ ...settled, data: settled.data as InferenceJobData }, id);
      const job = carrier ? toMemberObject(record, id, 'completed', null) : toJobObject(record, 'completed', null);
      if (job) return job;
    }
    let read = false;
    for (;;) {
      const left = deadline - Date.now();
      const known = this.carrierOf(id);
      // Subscribe before reading, so an event between the read and the wait is not missed.
      const listener = left > 0 && !signal?.aborted ? this.notifier.listen(known ? [id, known] : id, left, signal) : undefined;
      let job: JobObject;
      try {
        const located = await this.locate(tenant, id);
        job = await this.view(located);
        read = true;
        if (job.status === 'queued') expiresAt = located.job.data?.deadline;
      } catch (err) {
        listener?.dispose();
        // A re-read that finds Redis away (woken as Redis came back, before this process's own
        // connection had: a restart) is tried again shortly while time is left, as `Prefer: wait`
        // and a batch's long-poll ride an outage out. So is a fresh job's first read: its create
        // found Redis, and the job exists (two audits: hundreds of `Prefer: wait` creates woken by
        // a restart answered 503 without the id of the job they had queued, and a client that
        // retried as told ran it twice). Otherwise the first read answers it at once.
        const left = deadline - Date.now();
        if ((read || fresh) && left > 0 && !signal?.aborted && isRedisUnavailable(err)) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(REREAD_AFTER_OUTAGE_MS, left)));
          continue;
        }
        // A job this request created is gone: Redis lost it (restarted empty, flushed, restored
        // from an older copy), not a job the client named wrong (a disaster-recovery audit: a
        // POST answered 404 'job not found', and a v2 infer's 404 reads as an unknown model).
        if (fresh && err instanceof NotFoundError) throw new RedisUnavailableError(err, 'lost-data', 'send the request again');
        throw err;
      }
      if (!listener || isTerminal(job.status)) {
        listener?.dispose();
        return job;
      }
      // The read found a carrier this process did not know: listen to it too.
      if (this.carrierOf(id) !== known) {
        listener.dispose();
        continue;
      }
      await wokenOrExpired(listener.woken, job.status === 'queued' ? expiresAt : undefined);
      listener.dispose();
    }
  }

  /**
   * Cancels a job: a queued job never runs (the worker that fetches it fails it as canceled,
   * CANCEL_JOB_LUA); a job held in a worker's batch window is dropped from it if it waits there
   * past its next cancel check (at most CANCEL_RECHECK_MS, 50 ms, after its fetch); one already
   * computing finishes.
   * Through the ledger (CANCEL_JOB_LUA): a queued job's cancel is its ending, recorded once
   * with its job.completed in one atomic step, relayed from here (by a worker's sweeper if
   * this process dies first); a held job is only marked, and its worker records how it ends.
   * A member of a carrier (job-packer.ts) is canceled while its carrier is queued
   * (CANCEL_MEMBER_LUA) and runs on once its carrier runs; members have no webhooks.
   */
  async cancel(tenant: string, id: string): Promise<JobObject> {
    const located = await this.locate(tenant, id);
    const { queue, job: record } = located;
    const current = await this.view(located);
    if (isTerminal(current.status)) return current;
    if (located.member) {
      const verdict = await cancelMember(this.redis, queue.name, record.id!, id, this.opts.retentionSeconds * 1000);
      if (verdict === 'canceled') {
        await this.admission?.release(tenant, [{ queue: queue.name, jobId: memberEntryId(record.id!, id), rows: 0 }]); // quota: its rows will not count
        await this.redis.publish(JOB_EVENTS_CHANNEL, JSON.stringify({ id, event: 'canceled' } satisfies JobEventMessage)).catch(() => 0);
      }
      return this.get(tenant, id);
    }
    // The job.completed it gets if the cancel ends it now (a queued job): canceled at `now`.
    const now = clusterNow();
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

/** How soon a long-poll whose re-read found Redis away reads again. */
const REREAD_AFTER_OUTAGE_MS = 250;

/** Milliseconds until `expiresAt` (a job's deadline) and a little past it; Infinity without one. */
const untilExpiry = (expiresAt: number | undefined): number => (expiresAt === undefined ? Infinity : Math.max(0, expiresAt - clusterNow() + 5));

/** Resolves when `woken` does or once `expiresAt` has passed. */
async function wokenOrExpired(woken: Promise<void>, expiresAt: number | undefined): Promise<void> {
  const ms = untilExpiry(expiresAt);
  if (ms === Infinity) return woken;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
