/**
 * The ledger's writes, shared by the worker (endings of jobs, chunks and batches) and the API
 * (a queued job's cancel and expiry, a batch's upload end and cancel): each ending is recorded
 * by a script call on keys of one hash slot, once, together with its outbox entries (scripts.ts,
 * batch-scripts.ts); a cancel, an expiry and a chunk record first add the key to its retention
 * index (another slot), and chunk records of many batches are a call per batch.
 * The caller relays the entries it was handed (OutboxRelay.relay); if it dies first, a
 * sweeper does after the lease.
 */
import type { Redis } from 'ioredis';
import { ARGS_A_COMMAND } from '../redis.js';
import { CANCEL_BATCH_LUA, CHUNK_LANDED_LUA, CLAIM_REMOVAL_LUA, MARK_UPLOADED_LUA, RECORD_CHUNKS_LUA, START_BATCH_LUA } from './batch-scripts.js';
import { CANCELED_BEFORE_IT_RAN, encodeJobError, EXPIRED_IN_QUEUE } from '../payloads.js';
import { batchKeys, batchSlot, bullJobKey, bullLockKey, canceledKey, JOB_EVENTS_CHANNEL, OUTBOX_SLOTS_KEY, outboxKeys, type JobEventMessage } from '../queues.js';
import type { WebhookEventInput } from '../webhooks/events.js';
import { batchCompletedItem, endMarker, eventItem, parseEndMarker, type Ending, type OutboxItem } from './entry.js';
import { CANCEL_JOB_LUA, CANCEL_MEMBER_LUA, END_JOBS_LUA, EXPIRE_JOB_LUA, START_JOBS_LUA } from './scripts.js';
import { clusterNow } from '../cluster-clock.js';

/** How long a writer has to relay its own entries before a sweeper takes them. */
export const OUTBOX_LEASE_MS = 5000;

/**
 * Lists `slot` among the outboxes sweepers visit. Called before the first write to that
 * outbox (a queue's, once per process; a batch's, before each record), so an entry is never
 * in an outbox no sweeper knows.
 */
export async function registerOutbox(redis: Redis, slot: string): Promise<void> {
  await redis.sadd(OUTBOX_SLOTS_KEY, slot);
}

export interface JobEndingInput {
  jobId: string;
  ending: Ending;
  /** the job.completed to queue with it, if the job has a webhook that wants it */
  event: WebhookEventInput | null;
  /** a completion's result as BullMQ will store it (its JSON): kept with the ending, for a run after a crash to settle with */
  result?: string | undefined;
}

/**
 * What the ledger holds for a job after a write: this write's ending (`won`), an earlier one
 * (with its result when it was a completion that kept one), or none (gone).
 */
export type Recorded = { won: true } | { won: false; ending: Ending; result?: string } | { won: false; ending: null };

/**
 * Records the endings of jobs of one queue in one script call. Returns, per job, whether this
 * call's ending is the one recorded, and the outbox entries it added (the caller relays them).
 */
export async function recordJobEndings(
  redis: Redis, queueName: string, endings: readonly JobEndingInput[], now = clusterNow(), leaseMs = OUTBOX_LEASE_MS,
): Promise<{ recorded: Recorded[]; items: OutboxItem[] }> {
  if (endings.length === 0) return { recorded: [], items: [] };
  const o = outboxKeys(queueName);
  const keys = [o.due, o.events, ...endings.map((e) => bullJobKey(queueName, e.jobId))];
  const args: (string | number)[] = [now, leaseMs];
  const items: (OutboxItem | null)[] = endings.map((e) => (e.event ? eventItem(e.event) : null));
  endings.forEach((e, i) => args.push(endMarker(e.ending), items[i]?.id ?? '', items[i]?.entry ?? '', e.result ?? ''));
  const out = (await redis.eval(END_JOBS_LUA, keys.length, ...keys, ...args)) as [string, string][];
  const recorded = out.map(([m, result]): Recorded =>
    m === '' ? { won: true } : m === 'gone' ? { won: false, ending: null } : { won: false, ending: parseEndMarker(m), ...(result ? { result } : {}) });
  return { recorded, items: items.filter((it, i): it is OutboxItem => it !== null && recorded[i]!.won) };
}

export type CancelVerdict = 'canceled' | 'running' | 'finished' | 'gone' | 'ended';

/**
 * The API's cancel of a job in `queueName` (see CANCEL_JOB_LUA): 'canceled' with the outbox
 * entry of `event` when this call ended a queued job, 'canceled' without one when it already
 * was, 'running' when a worker holds it, 'finished'/'ended' when it had ended otherwise.
 */
export async function cancelJob(
  redis: Redis, queueName: string, jobId: string, canceledRetentionMs: number, event: WebhookEventInput | null,
  now = clusterNow(), leaseMs = OUTBOX_LEASE_MS,
): Promise<{ verdict: CancelVerdict; items: OutboxItem[] }> {
  const o = outboxKeys(queueName);
  const item = event ? eventItem(event) : null;
  if (item) await registerOutbox(redis, queueName);
  const out = (await redis.eval(
    CANCEL_JOB_LUA, 5, o.due, o.events, bullJobKey(queueName, jobId), bullLockKey(queueName, jobId), canceledKey(queueName),
    now, leaseMs, jobId, canceledRetentionMs, item?.id ?? '', item?.entry ?? '', encodeJobError(CANCELED_BEFORE_IT_RAN),
  )) as string;
  if (out === 'canceled' || out === 'running' || out === 'finished' || out === 'gone') return { verdict: out, items: out === 'canceled' && item ? [item] : [] };
  // Ended before (a repeated cancel, or a worker's ending): nothing new to relay.
  return { verdict: parseEndMarker(out.slice(1)).state === 'canceled' ? 'canceled' : 'ended', items: [] };
}

/**
 * The API's expiry of a job in `queueName` at its deadline (see EXPIRE_JOB_LUA): 'expired' with
 * the outbox entry of `event` when this call ended it; else what it found.
 */
export async function expireJob(
  redis: Redis, queueName: string, jobId: string, event: WebhookEventInput | null, now = clusterNow(), leaseMs = OUTBOX_LEASE_MS,
): Promise<{ verdict: 'expired' | 'running' | 'finished' | 'gone' | 'ended'; items: OutboxItem[] }> {
  const o = outboxKeys(queueName);
  const item = event ? eventItem(event) : null;
  if (item) await registerOutbox(redis, queueName);
  const out = (await redis.eval(
    EXPIRE_JOB_LUA, 4, o.due, o.events, bullJobKey(queueName, jobId), bullLockKey(queueName, jobId),
    now, leaseMs, item?.id ?? '', item?.entry ?? '', endMarker({ state: 'failed', error: EXPIRED_IN_QUEUE }), encodeJobError(EXPIRED_IN_QUEUE),
  )) as string;
  if (out === 'expired') return { verdict: out, items: item ? [item] : [] };
  return { verdict: out === 'running' || out === 'finished' || out === 'gone' ? out : 'ended', items: [] };
}

/** The API's cancel of a member of carrier job `carrierId` (CANCEL_MEMBER_LUA). */
export async function cancelMember(
  redis: Redis, queueName: string, carrierId: string, memberId: string, canceledRetentionMs: number, now = clusterNow(),
): Promise<Exclude<CancelVerdict, 'ended'>> {
  return (await redis.eval(
    CANCEL_MEMBER_LUA, 3, bullJobKey(queueName, carrierId), bullLockKey(queueName, carrierId), canceledKey(queueName),
    now, memberId, canceledRetentionMs,
  )) as Exclude<CancelVerdict, 'ended'>;
}

/**
 * Records chunk outcomes of a batch (RECORD_CHUNKS_LUA), completing the batch when this was
 * its last; the batch.completed entry, if any, is returned to relay, and `recorded` says how
 * many of the outcomes were their chunk's first (the others had one, which stays). `triples`:
 * (chunk, marker, outputs or ''), the outputs as a tensor record (tensors/record.ts).
 * A completion is announced on JOB_EVENTS_CHANNEL under the batch's id, so requests waiting
 * for the batch (`GET /v1/batches/{id}?wait=N`) answer at once. The announcement is a hint
 * (not awaited, lost if this process dies first): waiters also read the batch again now and then.
 */
export async function recordChunks(
  redis: Redis, batchId: string, retentionS: number, triples: readonly (string | Buffer)[], now = clusterNow(), leaseMs = OUTBOX_LEASE_MS,
): Promise<{ completed: boolean; recorded: number; items: OutboxItem[] }> {
  const k = batchKeys(batchId);
  const o = outboxKeys(batchSlot(batchId));
  const item = batchCompletedItem(batchId);
  await registerOutbox(redis, batchSlot(batchId));
  // A few thousand chunks a call: a cancel may record tens of thousands (a model that takes no
  // batches has a chunk a line), too many arguments for one call (JavaScript's stack, Redis's
  // memory). The call that records the last outcome completes the batch.
  const perCall = Math.max(3, ARGS_A_COMMAND - (ARGS_A_COMMAND % 3));
  let completed = false; // by whichever call records the last outcome (not always the last call: another writer's may come between)
  let recorded = 0;
  for (let at = 0; at === 0 || at < triples.length; at += perCall) {
    const [done, first] = (await redis.eval(RECORD_CHUNKS_LUA, 6, k.meta, k.chunks, k.outputs, k.lines, o.due, o.events, now, retentionS, leaseMs, item.id, item.entry, ...triples.slice(at, at + perCall))) as [number, number];
    completed ||= done === 1;
    recorded += first;
  }
  if (!completed) return { completed: false, recorded, items: [] };
  redis.publish(JOB_EVENTS_CHANNEL, JSON.stringify({ id: batchId, event: 'completed' } satisfies JobEventMessage)).catch(() => 0);
  // Whether the batch has a webhook is the script's business: relaying an absent entry is a no-op.
  return { completed: true, recorded, items: [item] };
}

/**
 * Marks a batch running (START_BATCH_LUA) if it is still queued: when a worker first takes one
 * of its chunks. Resolves true when this call did.
 */
export async function startBatch(redis: Redis, batchId: string, now = clusterNow()): Promise<boolean> {
  return (await redis.eval(START_BATCH_LUA, 1, batchKeys(batchId).meta, now)) === 1;
}

/**
 * Marks an uploaded, unfinished batch canceled (CANCEL_BATCH_LUA): 'canceled' (now or already),
 * 'completed' when it had completed (nothing changed), 'none' when there is no such uploaded batch.
 */
export async function cancelBatch(redis: Redis, batchId: string): Promise<'canceled' | 'completed' | 'none'> {
  const verdict = await redis.eval(CANCEL_BATCH_LUA, 1, batchKeys(batchId).meta);
  return verdict === 1 ? 'canceled' : verdict === 0 ? 'completed' : 'none';
}

/**
 * Queues the job.start events of jobs of one queue that just became active (START_JOBS_LUA):
 * none for a job already ended. Returns the entries queued, to relay.
 */
export async function recordJobStarts(
  redis: Redis, queueName: string, starts: readonly { jobId: string; event: WebhookEventInput }[], now = clusterNow(), leaseMs = OUTBOX_LEASE_MS,
): Promise<OutboxItem[]> {
  if (starts.length === 0) return [];
  const o = outboxKeys(queueName);
  const items = starts.map((s) => eventItem(s.event));
  const keys = [o.due, o.events, ...starts.map((s) => bullJobKey(queueName, s.jobId))];
  const args: (string | number)[] = [now, leaseMs];
  starts.forEach((s, i) => args.push(s.jobId, items[i]!.id, items[i]!.entry));
  const queued = new Set((await redis.eval(START_JOBS_LUA, keys.length, ...keys, ...args)) as string[]);
  return items.filter((it) => queued.has(it.id));
}

/**
 * Marks a batch's upload ended, with `fields` and `chunks_total` (MARK_UPLOADED_LUA), once its
 * `chunks` queued chunks have all counted themselves (`chunkLanded`): 'removing' when its removal began first
 * (the upload lost its lease), 'lost' when the batch or some of its chunks are gone from Redis.
 */
export async function markUploaded(redis: Redis, batchId: string, chunks: number, fields: Record<string, string | number>): Promise<'marked' | 'removing' | 'lost'> {
  const marked = await redis.eval(MARK_UPLOADED_LUA, 1, batchKeys(batchId).meta, chunks, ...Object.entries(fields).flat());
  return marked === 1 ? 'marked' : marked === 0 ? 'removing' : 'lost';
}

/** Counts one more chunk of an upload as queued (MARK_UPLOADED_LUA reads the count). */
export async function chunkLanded(redis: Redis, batchId: string): Promise<void> {
  await redis.eval(CHUNK_LANDED_LUA, 1, batchKeys(batchId).meta);
}

/** Claims an unfinished upload's removal (CLAIM_REMOVAL_LUA): false when the batch was marked uploaded, and stays. */
export async function claimUploadRemoval(redis: Redis, batchId: string): Promise<boolean> {
  return (await redis.eval(CLAIM_REMOVAL_LUA, 1, batchKeys(batchId).meta)) === 1;
}
