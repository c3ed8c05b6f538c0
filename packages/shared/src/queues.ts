/**
 * The queues' Redis names and the keys kept beside their jobs (indexes, payloads, results,
 * batches). Modules whose keys no one else reads keep their own: retention (`maas:retention:*`),
 * the rate limit (`maas:ratelimit:*`), the webhook delivery store, the ledger's scripts.
 *
 * One BullMQ queue per served model version, so a worker subscribes to exactly the models it
 * serves. Queue names carry a Redis Cluster hash tag (`{…}`): each queue's keys share one
 * slot (BullMQ's Lua scripts need that) while different queues spread over the cluster.
 * Keys read together in one command share a tag too (`{workers}`).
 */
import type { Cluster, Redis } from 'ioredis';
import type { InferenceJobData, InferenceJobResult } from './payloads.js';

export const PREFIX = 'maas';

/** BullMQ queue of a model version, e.g. `{infer-penguins-v2}`. */
export const inferenceQueueName = (model: string, version: number): string => `{infer-${model}-v${version}}`;

/** jobId → the queue that holds it (GET /v1/jobs/:id does not know the model); see `jobIndexValue`. */
export const jobIndexKey = (jobId: string): string => `${PREFIX}:job:${jobId}`;

/**
 * The job index's value: the job's queue, and for a job packed into a carrier job (a member,
 * payloads.ts `members`) also the carrier's id, after a space (queue names have none).
 */
export const jobIndexValue = (queueName: string, carrier?: string): string => (carrier ? `${queueName} ${carrier}` : queueName);

export function parseJobIndex(value: string): { queue: string; carrier?: string } {
  const space = value.indexOf(' ');
  return space < 0 ? { queue: value } : { queue: value.slice(0, space), carrier: value.slice(space + 1) };
}

/** Idempotency-Key record for a tenant. */
export const idempotencyKey = (tenant: string, keyHash: string): string => `${PREFIX}:idem:${tenant}:${keyHash}`;

/** BullMQ's hash of job `jobId` in `queueName`. */
export const bullJobKey = (queueName: string, jobId: string): string => `${PREFIX}:${queueName}:${jobId}`;

/**
 * The raw input bytes of a job whose inputs are large (tensors/payload.ts
 * `RAW_PAYLOAD_MIN_BYTES`), beside its BullMQ hash, in the queue's slot: written on the queue's
 * connection just before the job, so they land first. Batch-file chunks use their batch's keys.
 */
export const jobPayloadKey = (queueName: string, jobId: string): string => `${PREFIX}:${queueName}:${jobId}:payload`;

/**
 * The raw output bytes of a job whose outputs are large (payloads.ts `InferenceJobResult.payload`),
 * beside its BullMQ hash, in the queue's slot; it expires an hour after the job's record would.
 */
export const jobResultKey = (queueName: string, jobId: string): string => `${PREFIX}:${queueName}:${jobId}:result`;

/** Sorted set of canceled job ids (score: cancel time) beside its queue, in the queue's slot. */
export const canceledKey = (queueName: string): string => `${PREFIX}:${queueName}:canceled`;

/** The queued jobs of a queue that have a deadline (`timeout_ms`): a sorted set of job ids scored by it (epoch ms), swept by the API. */
export const deadlinesKey = (queueName: string): string => `${PREFIX}:${queueName}:deadlines`;
/** The queues whose deadlines set may hold entries, for the API's expiry sweep. */
export const DEADLINE_QUEUES_KEY = `${PREFIX}:{deadlines}:queues`;

/** BullMQ's sorted set of a queue's failed jobs (score: when they failed, epoch ms). */
export const bullFailedKey = (queueName: string): string => `${PREFIX}:${queueName}:failed`;

/** BullMQ's sorted set of a queue's completed jobs (score: when they completed, epoch ms). */
export const bullCompletedKey = (queueName: string): string => `${PREFIX}:${queueName}:completed`;

/** BullMQ's sorted set of a queue's waiting prioritized jobs (score: priority × 2^32 + arrival counter). */
export const bullPrioritizedKey = (queueName: string): string => `${PREFIX}:${queueName}:prioritized`;

/**
 * Jobs not yet finished in a queue: waiting (BullMQ's wait, prioritized and delayed) or held
 * (active: by a live worker, or by a dead one until a sweeper or its lock's expiry puts them
 * back). One slot, one round trip.
 */
export async function unfinishedJobCount(redis: Redis | Cluster, queueName: string): Promise<number> {
  const c = await queueJobCounts(redis, queueName);
  return c.waiting + c.prioritized + c.delayed + c.active;
}

/** A queue's jobs by state, as BullMQ's getJobCounts names them. */
export interface QueueJobCounts {
  waiting: number;
  prioritized: number;
  delayed: number;
  active: number;
  completed: number;
  failed: number;
}

/**
 * A queue's jobs by state, read from BullMQ's keys in one round trip (one slot) with no Queue
 * object, which would write the queue's meta: a queue no version is served from any more is
 * read without being touched.
 */
export async function queueJobCounts(redis: Redis | Cluster, queueName: string): Promise<QueueJobCounts> {
  const key = (state: string) => `${PREFIX}:${queueName}:${state}`;
  const replies = (await redis.pipeline()
    .llen(key('wait')).zcard(key('prioritized')).zcard(key('delayed')).llen(key('active')).zcard(key('completed')).zcard(key('failed'))
    .exec()) ?? [];
  const [waiting, prioritized, delayed, active, completed, failed] = replies.map(([err, n]) => {
    if (err) throw err;
    return Number(n);
  });
  return { waiting: waiting!, prioritized: prioritized!, delayed: delayed!, active: active!, completed: completed!, failed: failed! };
}

const QUEUE_NAME = /^\{infer-(.+)-v([1-9][0-9]{0,8})\}$/;

/** PURE: the model version a model queue's name (inferenceQueueName) is for; undefined for any other name. */
export function versionOfQueue(name: string): { model: string; version: number } | undefined {
  const m = QUEUE_NAME.exec(name);
  return m ? { model: m[1]!, version: Number(m[2]) } : undefined;
}

/** Fair-share lanes of one band of a queue (hash tenant → virtual finish time), in the queue's slot. */
export const laneKey = (queueName: string, band: number): string => `${PREFIX}:${queueName}:lanes:${band}`;

/** BullMQ's lock of job `jobId` while a worker holds it. */
export const bullLockKey = (queueName: string, jobId: string): string => `${PREFIX}:${queueName}:${jobId}:lock`;

/**
 * The webhook outbox of one hash slot (see packages/shared/src/ledger): `due`, a sorted set of
 * pending event ids scored by when a sweeper may take them, and `events`, event id → entry.
 * `slot` is a hash tag: a queue name (`{infer-…}`) for job events, `{b-<id>}` for a batch's.
 */
export const outboxKeys = (slot: string) => ({ due: `${PREFIX}:${slot}:outbox`, events: `${PREFIX}:${slot}:outbox:events` });

/** The slots whose outbox may hold entries (a set of hash tags), for the sweepers. */
export const OUTBOX_SLOTS_KEY = `${PREFIX}:{outbox}:slots`;

/**
 * Pub/sub channel on which workers announce finished jobs, and whoever completes a batch its
 * completion (under the batch's id: recordChunks); the API wakes its waiters from it.
 */
export const JOB_EVENTS_CHANNEL = `${PREFIX}:job-events`;

/** Worker registry: heartbeat times (sorted set), descriptions and metrics (hashes). */
export const WORKERS_SEEN_KEY = `${PREFIX}:{workers}:seen`;
export const WORKERS_INFO_KEY = `${PREFIX}:{workers}:info`;
/** worker id → when its liveness beat expires (Redis time, ms); see apps/worker/src/liveness */
export const WORKERS_ALIVE_KEY = `${PREFIX}:{workers}:alive`;
export const WORKERS_METRICS_KEY = `${PREFIX}:{workers}:metrics`;
/**
 * worker id → when it left after a clean stop (Redis time, ms): its last metrics stay in
 * WORKERS_METRICS_KEY, and in `/metrics`, for WORKER_METRICS_LINGER_MS after (then removed).
 */
export const WORKERS_GONE_KEY = `${PREFIX}:{workers}:gone`;
/** How long a worker that stopped cleanly keeps its last counts in `/metrics`: two scrapes at the usual 30-60 s. */
export const WORKER_METRICS_LINGER_MS = 120_000;

/** `model:version` label used in worker descriptions. */
export const modelVersionTag = (model: string, version: number): string => `${model}:${version}`;

/** BullMQ queue of webhook deliveries: one job per event, its jobId the event's `webhook-id`. */
export const WEBHOOK_QUEUE = '{webhooks}';

/** The one generated webhook secret of releases before per-tenant secrets (adopted by DEFAULT_TENANT). */
export const WEBHOOK_SECRET_KEY = `${PREFIX}:webhook-secret`;

/** A tenant's webhook signing secrets (hash: current, current_at, prev:<secret> → expiry ms). */
export const tenantSecretsKey = (tenant: string): string => `${PREFIX}:webhook-secrets:${tenant}`;

/** A tenant's queued-rows ledger (hash: `<queue>|<jobId>` → rows, and `total`), when a rows quota is set. */
export const tenantRowsKey = (tenant: string): string => `${PREFIX}:{quota-${tenant}}:rows`;

/** A tenant's batches (GET /v1/batches): a sorted set of batch ids, scored by when each was created (ms). */
export const tenantBatchesKey = (tenant: string): string => `${PREFIX}:{batches-${tenant}}:list`;

/**
 * Delivery history of one job (or batch), all in the subject's slot: the set of its event ids,
 * and per event a summary hash, the list of attempts and, briefly, its redelivery's claim.
 */
export const webhookEventsKey = (subject: string): string => `${PREFIX}:{wh-${subject}}:events`;
export const webhookDeliveryKey = (subject: string, msgId: string): string => `${PREFIX}:{wh-${subject}}:event:${msgId}`;
export const webhookAttemptsKey = (subject: string, msgId: string): string => `${PREFIX}:{wh-${subject}}:attempts:${msgId}`;
/** A redelivery of one event under way (`started`, then `done`), for calls that join it (a short PX). */
export const webhookRedeliveryKey = (subject: string, msgId: string): string => `${PREFIX}:{wh-${subject}}:redelivery:${msgId}`;

/**
 * A job-event message on JOB_EVENTS_CHANNEL. A worker publishes the events of one event-loop
 * turn as one JSON array (one PUBLISH for a whole micro-batch); the API's cancel publishes one
 * object, and recordChunks one for a batch it completed (`id` the batch's, `event` 'completed').
 * A succeeded job's event may carry its settled record (`settled`, with the inputs
 * left out) and `tenant`, so a waiting request answers without reading the job back.
 */
export interface JobEventMessage {
  id: string;
  event: 'completed' | 'failed' | 'canceled' | 'active';
  tenant?: string;
  settled?: SettledRecord;
}

/** The fields of a finished BullMQ job the public view needs (StoredJob without its inputs). */
export interface SettledRecord {
  id: string;
  timestamp: number;
  processedOn?: number | undefined;
  finishedOn: number;
  data: Omit<InferenceJobData, 'inputs'> & { inputs: [] };
  returnvalue: InferenceJobResult;
}

/** The messages of one JOB_EVENTS_CHANNEL payload (an object or an array of them). */
export function parseJobEvents(payload: string): JobEventMessage[] {
  const parsed = JSON.parse(payload) as JobEventMessage | JobEventMessage[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

/**
 * Batch submissions: every key of one batch shares the batch's slot (`{b-<id>}`), so the
 * worker's chunk-recording script and the results reader touch one slot.
 * meta: hash of the batch's fields; lines: chunk → its lines (custom ids, rows, errors);
 * chunks: chunk → outcome marker; outputs: chunk → its outputs; input(chunk): its raw input bytes.
 */
export const batchSlot = (batchId: string): string => `{b-${batchId}}`;
export const batchKeys = (batchId: string) => {
  const tag = `${PREFIX}:${batchSlot(batchId)}`;
  return {
    meta: `${tag}:meta`, lines: `${tag}:lines`, chunks: `${tag}:chunks`, outputs: `${tag}:outputs`,
    /** a chunk's input bytes (removed by the worker once the chunk ended) */
    input: (chunk: number) => `${tag}:in:${chunk}`,
  };
};
export type BatchKeys = ReturnType<typeof batchKeys>;

/**
 * Batch uploads in progress: a sorted set of batch ids scored by when their lease ends. The
 * API process reading an upload renews its lease; any API process removes an upload whose
 * lease ran out (its reader died) with its chunks.
 */
export const UPLOADS_KEY = `${PREFIX}:uploads`;

/**
 * Canceled batches that have not completed: a sorted set of batch ids scored by when an API
 * process looks at them next (apps/api/src/services/canceled-batches.ts). A chunk a worker
 * held at the cancel ends as that worker ends it; one whose worker died, with no live worker
 * to take it up, is ended there.
 */
export const CANCELED_BATCHES_KEY = `${PREFIX}:batches:canceled`;

/** BullMQ job id of a batch's chunk (not a public job id: GET /v1/jobs does not find it). */
export const chunkJobId = (batchId: string, chunk: number): string => `${batchId}-c${chunk}`;

/** The batch and chunk of a chunk job's id (`chunkJobId`); undefined for other ids. */
export function chunkOfJobId(jobId: string): { batchId: string; chunk: number } | undefined {
  const m = /^(.+)-c([0-9]+)$/.exec(jobId);
  return m ? { batchId: m[1]!, chunk: Number(m[2]) } : undefined;
}

/** Triton-style statistics of one model version: a hash the workers increment, the API reads. */
export const statsKey = (model: string, version: number): string => `${PREFIX}:stats:${model}:${version}`;

/** Names of models unloaded through the repository API (POST /v2/repository/models/{m}/unload). */
export const UNLOADED_MODELS_KEY = `${PREFIX}:models:unloaded`;

/**
 * Pub/sub channel announcing a model load or unload (repository API), or a change of its
 * files found by polling (`changed`: re-read it unless unloaded): `ModelChangeMessage` JSON.
 */
export const MODELS_CHANNEL = `${PREFIX}:models:changed`;

export interface ModelChangeMessage {
  model: string;
  action: 'load' | 'unload' | 'changed';
  /** the change's place in MODEL_CHANGES_KEY's sequence (absent from releases before it) */
  seq?: number;
}

/**
 * A counter: each model change takes the next number before it is announced, and each worker's
 * heartbeat says the number of the last change it has applied (`changes_applied`), so a load
 * answers once a worker serves the model as of that load, not as it was before (an unload just
 * before it, not yet applied, still listed the model: the load answered ready, then the model
 * read not ready for a second).
 */
export const MODEL_CHANGES_KEY = `${PREFIX}:models:changes`;

/**
 * Numbers a model change (MODEL_CHANGES_KEY) and announces it to every API and worker
 * (MODELS_CHANNEL); a load or an unload updates the unloaded set in the same write. The API
 * that made or noticed the change announces it (its load, unload or poll; a worker applies what
 * its own poll finds and announces nothing). Resolves with the change's number.
 */
export async function announceModelChange(redis: Redis | Cluster, model: string, action: ModelChangeMessage['action']): Promise<number> {
  const seq = await redis.incr(MODEL_CHANGES_KEY);
  const message = JSON.stringify({ model, action, seq } satisfies ModelChangeMessage);
  if (action === 'changed') await redis.publish(MODELS_CHANNEL, message);
  else await redis.multi()[action === 'load' ? 'srem' : 'sadd'](UNLOADED_MODELS_KEY, model).publish(MODELS_CHANNEL, message).exec();
  return seq;
}

/**
 * The data epoch (data-epoch.ts): a hash of `id` (random), `created_at` (ms) and `seq` (a counter
 * each process's check increments), created by the first process to look. Gone, another id, or
 * a `seq` that went back: Redis lost its data or was restored from a backup.
 */
export const DATA_EPOCH_KEY = `${PREFIX}:data-epoch`;

/** The names of the BullMQ queues this system has made (see the API's services/retention.ts). */
export const QUEUE_NAMES_KEY = `${PREFIX}:queues`;
