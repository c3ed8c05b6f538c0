/**
 * BatchService: batch submissions (CONTRACT §4 "Batch submissions").
 *
 * Upload: the body is read as a stream, line by line (NDJSON; or row by row for an `.npy`
 * array, see batches/sources.ts); each line is checked alone (a bad one fails only itself) and
 * the rows are cut into chunks of about a mebibyte of input (models/chunk-size.ts), each one
 * BullMQ job in the model's queue that the worker spreads over several ONNX runs (a million
 * 32-float rows are 123 jobs). Enqueueing awaits Redis, which pauses the request stream:
 * memory stays flat however large the file. Workers record each chunk's outputs (raw bytes:
 * tensors/record.ts) beside the batch (RECORD_CHUNKS_LUA), and whoever records the last one
 * completes the batch, queueing its batch.completed in the same step (the ledger,
 * packages/shared/src/ledger): this process relays it at once when it completed the batch
 * (upload end, cancel), a worker's sweeper does if it dies first. Results are read back chunk
 * by chunk, in order (services/batch-results.ts).
 *
 * What one upload may take: it starts, and each chunk is queued, only while the model's queue
 * holds fewer than MAX_QUEUE_DEPTH jobs (else 429, and what it queued is withdrawn), and it
 * reads at most BATCH_MAX_MB (decompressed) and BATCH_MAX_LINES. An upload holds a lease in
 * UPLOADS_KEY that its reader renews; an upload that fails or is aborted is removed with its
 * chunks at once, one whose API process died is removed by any API's UploadSweeper.
 *
 * An `Idempotency-Key` names one upload (services/idempotency.ts, scope 'batch'): a request
 * with a key already claimed for the same target (model, version, webhook, format) gets that
 * batch once its upload has ended, without its body being read; a 409 while that upload is
 * still under way, or for another target; a new upload when that one was abandoned (its claim
 * moves to the new one). The lines themselves are not compared.
 */
import type { Redis } from 'ioredis';
import {
  clusterNow, AppError, batchKeys, CANCELED_BATCHES_KEY, cancelBatch, chunkLanded, claimUploadRemoval, dieAt, IdempotencyConflictError, markUploaded, CHUNK_BYTES, chunkRows, canceledMarker, chunkJobId, isWellFormedId, newBatchId, NotFoundError, PAYLOAD_VERSION, QueueFullError,
  recordChunks, RedisUnavailableError, batchSlot, type OutboxRelay, packPayload, UPLOADS_KEY, ValidationError, type BatchObject,
  BlockPool, bullJobKey, isRedisUnavailable, sendInSlices, type InferenceJobData, type Logger, type ModelVersion, readBatch, toBatchObject, webhookUrlProblem,
} from '@maas/shared';
import { BatchList, type BatchPage } from './batch-list.js';
import { BatchResults, type FinishedBatch } from './batch-results.js';
import { IdempotencyStore } from './idempotency.js';
import type { Chunk } from '../batches/chunker.js';
import { ChunksSince } from '../batches/chunks-since.js';
import { linesWithRows, readLines, rowsPerLine, storedLines } from '../batches/chunk-lines.js';
import { batchChunks, type BatchFormat, type SourceCounts } from '../batches/sources.js';
import type { FairShare } from '../fairness/fair-share.js';
import { BATCH_PRIORITY, bullPriority, quantum } from '../fairness/lanes.js';
import { RETRY_BACKOFF } from './job-retry.js';
import type { Admission } from '../quotas/queued-rows.js';
import { batchFileProblem } from '../batches/answerable.js';
import type { ModelCatalog } from './catalog.js';
import type { JobNotifier } from './notifier.js';
import type { InferenceQueue, QueueRegistry } from './queues.js';
import type { StopSignal } from './stop-signal.js';

/**
 * How often a waiting `GET /v1/batches/{id}?wait=N` reads the batch again without a wake-up:
 * what a completion's lost announcement (a reconnect, a worker killed after its last chunk's
 * record) costs a waiter at most.
 */
const WAIT_RECHECK_MS = 2000;

export interface BatchServiceOptions {
  retentionSeconds: number;
  maxLines: number;
  maxLineBytes: number;
  attempts: number;
  allowPrivateWebhooks: boolean;
  /** MAX_QUEUE_DEPTH: an upload starts, and goes on, only while its queue holds fewer jobs */
  maxQueueDepth: number;
  /** UPLOAD_LEASE_S: an upload not renewed this long (its API process died) is swept away */
  leaseSeconds: number;
}

export interface BatchTarget {
  model: string;
  version?: number | undefined;
  webhook?: string | undefined;
}

/** Chunks being enqueued while the next ones are parsed (bounds the upload's memory). */
const ENQUEUE_AHEAD = 4;
/** Chunk input blocks kept for the next chunks (shared block-pool.ts): those in flight, and some room. */
const BLOCK_POOL_BYTES = (ENQUEUE_AHEAD + 4) * CHUNK_BYTES;
/** An unfinished batch is kept this long beyond its retention before Redis drops it anyway. */
const UNFINISHED_GRACE_S = 7 * 24 * 3600;
/** A canceled batch not completed by its cancel is looked at again after this (services/canceled-batches.ts). */
export const CANCELED_LOOK_AGAIN_MS = 1000;

/** How often a failed upload's lease and key are offered back while Redis is away (`giveBackLater`). */
const GIVE_BACK_RETRY_MS = 1000;

/** The Retry-After of a 409 for a batch's results before it has completed, in seconds. */
const BATCH_NOT_FINISHED_RETRY_S = 5;

export class BatchService {
  /** relays the batch.completed of a batch this process completed (webhooks plug in here) */
  relay: OutboxRelay | undefined;
  /** the tenant's queued-rows quota (quotas/queued-rows.ts): each chunk's rows are reserved before it is queued */
  admission: Admission | undefined;
  /** tenants' turns on a shared model (fairness/fair-share.ts): each chunk takes its tenant's next turn */
  fair: FairShare | undefined;

  constructor(
    private readonly redis: Redis,
    /**
     * A connection without auto-pipelining, for the chunks' input bytes: ioredis copies a Buffer
     * argument into its command once, and a pipeline (automatic or MULTI) copies every command
     * of it again into one write.
     */
    private readonly bulk: Redis,
    private readonly catalog: ModelCatalog,
    private readonly queues: QueueRegistry,
    /** wakes `wait` when a batch's completion is announced (recordChunks) */
    private readonly notifier: JobNotifier,
    private readonly log: Logger,
    private readonly opts: BatchServiceOptions,
  ) {
    this.list = new BatchList(redis, opts.retentionSeconds + UNFINISHED_GRACE_S);
    this.idempotency = new IdempotencyStore(redis, opts.retentionSeconds + UNFINISHED_GRACE_S, 'batch');
    this.results = new BatchResults(redis, catalog);
  }

  /** Idempotency-Key claims of uploads (see the module comment) */
  private readonly idempotency: IdempotencyStore;

  /** each tenant's batches, for GET /v1/batches */
  private readonly list: BatchList;

  /** a completed batch's results (`finished` says which batch may be read) */
  readonly results: BatchResults;

  /** the memory chunks are built in, shared by this process's uploads */
  private readonly blocks = new BlockPool(BLOCK_POOL_BYTES);

  /**
   * Records chunk outcomes (completing the batch when they were its last) and relays its
   * batch.completed, if any. Resolves true when this call completed the batch.
   */
  private async record(id: string, triples: string[] = []): Promise<boolean> {
    const { completed, items } = await recordChunks(this.redis, id, this.opts.retentionSeconds, triples);
    if (items.length > 0) await this.relay?.relay(batchSlot(id), items);
    return completed;
  }

  /**
   * Uploads a batch; `created` false: a replay of an Idempotency-Key's upload, whose batch is
   * returned as it is (the body was not read: the caller discards it).
   */
  async create(
    tenant: string, target: BatchTarget, body: AsyncIterable<Buffer>, format: BatchFormat = 'ndjson', idempotencyKey?: string,
  ): Promise<{ batch: BatchObject; created: boolean }> {
    const { model, version } = this.catalog.resolve(target.model, target.version);
    const unanswerable = batchFileProblem(version);
    if (unanswerable) throw new ValidationError([{ path: 'model', message: unanswerable }]);
    const webhookProblem = target.webhook && webhookUrlProblem(target.webhook, { allowPrivate: this.opts.allowPrivateWebhooks });
    if (webhookProblem) throw new ValidationError([{ path: 'webhook', message: webhookProblem }]);
    const webhook = target.webhook && new URL(target.webhook).href;
    const queue = this.queues.forVersion(version.model, version.version);
    const id = newBatchId();
    // The lease first: whatever this upload writes after it is swept away should this process
    // die, and a request with its Idempotency-Key sees it under way before anything else is.
    const leaseMs = this.opts.leaseSeconds * 1000;
    // A pending key outlives the lease, so it lapses only once a dead upload has been swept.
    const pendingS = this.opts.leaseSeconds + 60;
    await this.redis.zadd(UPLOADS_KEY, clusterNow() + leaseMs, id);
    let renew: NodeJS.Timeout | undefined;
    let settled: Promise<void> | undefined;
    try {
      if (idempotencyKey) {
        const fingerprint = { model: version.model, version: version.version, webhook: webhook ?? null, format };
        const claimedFor = await this.idempotency.claim(tenant, idempotencyKey, fingerprint, id, pendingS);
        if (claimedFor) {
          const earlier = await this.replay(tenant, idempotencyKey, claimedFor, id, pendingS);
          if (earlier) {
            await this.redis.zrem(UPLOADS_KEY, id);
            return { batch: earlier, created: false };
          }
        }
      }
      await this.checkDepth(queue, version);
      renew = setInterval(() => {
        void this.redis.zadd(UPLOADS_KEY, 'XX', clusterNow() + leaseMs, id).catch(() => {});
        if (idempotencyKey) void this.idempotency.keepPending(tenant, idempotencyKey, id, pendingS).catch(() => {});
      }, leaseMs / 3);
      renew.unref();
      // The key is committed before the upload is marked uploaded: a process that dies between
      // the two leaves a key whose batch a sweeper finishes (or removes: then the key moves on).
      const commit = idempotencyKey ? () => this.idempotency.commit(tenant, idempotencyKey, id) : undefined;
      const uploading = this.upload(tenant, id, { model: model.name, webhook }, version, queue, body, format, commit);
      settled = uploading.then(() => {}, () => {});
      this.uploads.add(settled);
      return { batch: await uploading, created: true };
    } catch (err) {
      // An upload that did not end gives its lease and its key back; one marked uploaded keeps
      // both, so a sweeper finishes it should this process fail after that, and a retry gets it.
      // With Redis away (the usual cause of a 503 here) they are given back as soon as it
      // answers again, so that the client's retry with the key is not refused (409) until the
      // lease runs out.
      await this.giveBack(tenant, id, idempotencyKey).catch(() => this.giveBackLater(tenant, id, idempotencyKey, leaseMs));
      throw err;
    } finally {
      clearInterval(renew);
      if (settled) this.uploads.delete(settled);
    }
  }

  /**
   * What an upload that did not end holds, given back: its records and lease (removeUpload)
   * and its Idempotency-Key; nothing of one marked uploaded. Throws while Redis is away.
   */
  private async giveBack(tenant: string, id: string, key: string | undefined): Promise<boolean> {
    if (!(await this.removeUpload(id))) return false;
    if (key) await this.idempotency.release(tenant, key, id);
    return true;
  }

  /** `giveBack`, tried again every second for up to `forMs` (the lease's sweeper does it after that). */
  private giveBackLater(tenant: string, id: string, key: string | undefined, forMs: number): void {
    const until = Date.now() + forMs;
    const attempt = () => {
      const timer = setTimeout(() => {
        this.giveBack(tenant, id, key).then(
          (given) => given && this.log.info({ batch: id }, 'failed upload given back once Redis answered'),
          () => (Date.now() < until ? attempt() : undefined),
        );
      }, GIVE_BACK_RETRY_MS);
      timer.unref();
    };
    attempt();
  }

  /**
   * The batch an Idempotency-Key was claimed for by an earlier upload (`claimedFor`): returned
   * once that upload has ended; a 409 while it goes on (its lease or its records exist); undefined
   * when it was abandoned and is gone: the claim is now `id`'s, whose upload goes ahead.
   */
  private async replay(tenant: string, key: string, claimedFor: string, id: string, pendingS: number): Promise<BatchObject | undefined> {
    const [[uploaded, owner], lease] = await Promise.all([
      this.redis.hmget(batchKeys(claimedFor).meta, 'uploaded', 'tenant'),
      this.redis.zscore(UPLOADS_KEY, claimedFor),
    ]);
    if (uploaded === '1' && owner === tenant) return this.get(tenant, claimedFor);
    if (owner === null && lease === null && (await this.idempotency.reclaim(tenant, key, claimedFor, id, pendingS))) return undefined;
    // A live upload renews its lease every third of it, so a lease with more than two thirds
    // left may be live (retry in a second: it may end any moment); one with less was cut off
    // with its API process (retry once it runs out: a sweeper removes it soon after).
    const leaseMs = this.opts.leaseSeconds * 1000;
    const leftMs = lease === null ? 0 : Number(lease) - clusterNow();
    const untilS = Math.max(1, Math.ceil(leftMs / 1000));
    throw new IdempotencyConflictError(
      key,
      `names an upload still under way, or one cut off with its API process, whose lease (UPLOAD_LEASE_S) runs out within ${untilS} s and which is removed soon after: retry then (a finished upload's answer is replayed)`,
      leftMs > (leaseMs * 2) / 3 ? 1 : untilS,
    );
  }

  /** Uploads under way in this process, each settled once it is done or withdrawn. */
  private readonly uploads = new Set<Promise<void>>();

  /** Resolves once the uploads under way have ended (at a stop: those cut are withdrawn first). */
  async uploadsSettled(): Promise<void> {
    await Promise.all(this.uploads);
  }

  /**
   * 429 while the model's queue is full. The depth is read at most once a second, so the
   * chunks of this upload that reading may not hold (`own`: those on their way to Redis, and
   * those that landed since it began) are added: one upload alone cannot go past it, and its
   * chunks the reading holds (or that ran) are not counted again.
   */
  private async checkDepth(queue: InferenceQueue, version: ModelVersion, own?: ChunksSince): Promise<void> {
    const reading = await this.queues.queuedJobs(queue);
    const depth = reading.value + (own?.since(reading.at) ?? 0);
    if (depth >= this.opts.maxQueueDepth) throw new QueueFullError(`${version.model}/${version.version}`, depth, 1);
  }

  private async upload(
    tenant: string, id: string, target: { model: string; webhook: string | undefined }, version: ModelVersion, queue: InferenceQueue,
    body: AsyncIterable<Buffer>, format: BatchFormat, beforeMark?: () => Promise<void>,
  ): Promise<BatchObject> {
    const k = batchKeys(id);
    const createdAt = clusterNow();
    await this.redis
      .multi()
      .hset(k.meta, {
        tenant, model: target.model, version: String(version.version), status: 'queued', created_at: createdAt,
        uploaded: 0, total: 0, invalid: 0, webhook: target.webhook ?? '',
      })
      .expire(k.meta, this.opts.retentionSeconds + UNFINISHED_GRACE_S)
      .exec();
    const counts: SourceCounts = { total: 0, invalid: 0 };
    const limits = { chunkRows: chunkRows(version), maxLines: this.opts.maxLines, maxLineBytes: this.opts.maxLineBytes };
    let chunks = 0;
    const enqueue = async (chunk: Chunk) => {
      chunks++;
      const ttl = this.opts.retentionSeconds + UNFINISHED_GRACE_S;
      const packed = chunk.rows === 0 ? undefined : packPayload(chunk.inputs);
      // The chunk's lines, then its input bytes (raw, not base64 in the job): sent back to back on
      // one connection, so they land in that order, in one round trip.
      const written: Promise<unknown>[] = [this.bulk.multi().hset(k.lines, chunk.index, storedLines(chunk.lines)).expire(k.lines, ttl).exec()];
      if (packed) written.push(this.bulk.set(k.input(chunk.index), packed.bytes, 'EX', ttl));
      await Promise.all(written);
      // Redis has the bytes: the chunk's blocks can take the next chunks' rows.
      for (const t of chunk.inputs) if (!Array.isArray(t.data)) this.blocks.give(t.data);
      if (!packed) {
        await this.record(id, [String(chunk.index), 's:0', '']);
        await chunkLanded(this.redis, id);
        return;
      }
      const lineRows = rowsPerLine(chunk.lines, chunk.rows, chunk.linesWithRows);
      const data: InferenceJobData = {
        v: PAYLOAD_VERSION, model: version.model, version: version.version, tenant, rows: chunk.rows,
        inputs: packed.inputs, payload: k.input(chunk.index), outputs: [], priority: BATCH_PRIORITY,
        batch: {
          id, chunk: chunk.index, lines: chunk.linesWithRows, retentionSeconds: this.opts.retentionSeconds,
          ...(lineRows ? { lineRows } : {}),
        },
      };
      const [, turns] = await Promise.all([
        this.admission?.reserve(tenant, { queue: queue.name, jobId: chunkJobId(id, chunk.index), rows: chunk.rows }), // quota
        this.fair?.priorities(queue.name, tenant, BATCH_PRIORITY, [chunk.rows], quantum(BATCH_PRIORITY, version, limits.chunkRows)),
      ]);
      await queue.add('chunk', data, {
        jobId: chunkJobId(id, chunk.index),
        timestamp: clusterNow(), // as every job's: on the cluster's clock (its queue time, its statistics)
        priority: turns?.[0] ?? bullPriority(BATCH_PRIORITY),
        attempts: this.opts.attempts,
        backoff: RETRY_BACKOFF,
        // The outputs live with the batch; the job (and its input payload) can go at once.
        removeOnComplete: true,
        removeOnFail: { age: this.opts.retentionSeconds },
      });
      await chunkLanded(this.redis, id);
    };
    // Parsing goes on while the last few chunks travel to Redis; more than ENQUEUE_AHEAD in
    // flight pauses the body stream until one lands.
    const inflight = new Set<Promise<void>>();
    let rows = 0;
    const queued = new ChunksSince();
    const submit = async (chunk: Chunk) => {
      rows += chunk.rows;
      let p: Promise<void>;
      if (chunk.rows > 0) {
        await this.checkDepth(queue, version, queued);
        queued.sent();
        p = enqueue(chunk).then(() => queued.landed(clusterNow()), (err: unknown) => {
          queued.landed();
          throw err;
        });
      } else {
        p = enqueue(chunk);
      }
      inflight.add(p);
      void p.then(() => inflight.delete(p), () => {});
      if (inflight.size >= ENQUEUE_AHEAD) await Promise.race(inflight);
    };
    try {
      for await (const chunk of batchChunks(format, body, version, limits, counts, this.blocks)) await submit(chunk);
      await Promise.all(inflight);
      if (counts.total === 0) throw new ValidationError([{ path: 'body', message: format === 'npy' ? 'the array has no rows' : 'the NDJSON body holds no request line' }]);
      // Marked uploaded unless its removal began: a sweeper took the lease (this process could
      // not renew it for UPLOAD_LEASE_S) and is removing the batch.
      await beforeMark?.();
      const marked = await markUploaded(this.redis, id, chunks, { total: counts.total, invalid: counts.invalid, rows });
      if (marked === 'removing') throw new RedisUnavailableError(undefined, 'unreachable');
      if (marked === 'lost') throw new RedisUnavailableError(undefined, 'lost-data', 'send the upload again');
    } catch (err) {
      // Chunks still on their way to Redis land first, so none is queued after the withdrawal.
      await Promise.allSettled(inflight);
      await this.removeUpload(id).catch((e: unknown) => this.log.warn({ err: e, batch: id }, 'cleanup after failed upload'));
      // A refused upload (a bad body, a limit) is the client's: its reason, not a stack trace.
      if (err instanceof AppError) this.log.info({ batch: id, status: err.status, reason: err.message }, 'batch upload abandoned');
      else this.log.info({ batch: id, err }, 'batch upload abandoned');
      throw err;
    }
    dieAt('upload-marked');
    await this.finishUpload(tenant, id, createdAt);
    return this.get(tenant, id);
  }

  /**
   * What follows an upload marked uploaded: listed, completed if its chunks have all run (else
   * the last chunk's record completes it), its lease given up. Each step may be taken twice:
   * should this process die before the lease is gone, a sweeper takes them again (`abandoned`).
   */
  private async finishUpload(tenant: string, id: string, createdAt: number): Promise<void> {
    await this.list.add(tenant, id, createdAt);
    await this.record(id);
    await this.redis.zrem(UPLOADS_KEY, id);
  }

  /**
   * An upload whose lease expired (its API process died, or could not renew it): removed with
   * its chunks, unless it had been marked uploaded, which is finished instead.
   */
  async abandoned(id: string): Promise<'removed' | 'finished' | 'kept'> {
    const [uploaded, tenant, createdAt] = await this.redis.hmget(batchKeys(id).meta, 'uploaded', 'tenant', 'created_at');
    if (uploaded === '1' && tenant) {
      await this.finishUpload(tenant, id, Number(createdAt));
      return 'finished';
    }
    // 'kept': its own process marked it uploaded meanwhile (it was slow, not dead) and finishes it.
    return (await this.removeUpload(id)) ? 'removed' : 'kept';
  }

  /**
   * An upload that did not finish (it failed, its client went away, or its API process died):
   * its queued chunks are withdrawn, and its records removed (workers drop any chunk they
   * already hold, as its batch is gone). A batch whose upload had finished is left alone.
   */
  async removeUpload(id: string): Promise<boolean> {
    const k = batchKeys(id);
    // From here on its upload cannot be marked uploaded (MARK_UPLOADED_LUA); one that was stays.
    if (!(await claimUploadRemoval(this.redis, id))) return false;
    const [model, version, tenant] = await this.redis.hmget(k.meta, 'model', 'version', 'tenant');
    // Chunk indices: every chunk's lines are written before its input, its quota and its job.
    const indices = (await this.redis.hkeys(k.lines)).map(Number);
    if (model && version) {
      const queue = this.queues.forVersion(model, Number(version));
      await withdrawChunks(queue, id, indices);
      const entries = indices.map((i) => ({ queue: queue.name, jobId: chunkJobId(id, i), rows: 0 }));
      if (tenant) await this.admission?.release(tenant, entries); // quota
    }
    // In slices (shared redis.ts): a model that takes no batches has a chunk a line, 60,000 and more.
    await sendInSlices([k.meta, k.lines, k.chunks, k.outputs, ...indices.map((i) => k.input(i))], (keys) => this.redis.del(...keys));
    await this.redis.zrem(UPLOADS_KEY, id);
    return true;
  }

  private async load(tenant: string, id: string) {
    if (!isWellFormedId(id, 'batch')) throw new NotFoundError('batch', id);
    const k = batchKeys(id);
    const { meta, counts } = await readBatch(this.redis, id);
    if (!meta['tenant'] || meta['tenant'] !== tenant || meta['uploaded'] !== '1') throw new NotFoundError('batch', id);
    return { meta, counts, k };
  }

  /** The tenant's batches, newest first: `limit` of them after the batch `after` (GET /v1/batches). */
  listPage(tenant: string, after: string | undefined, limit: number): Promise<BatchPage> {
    return this.list.page(tenant, after, limit);
  }

  async get(tenant: string, id: string): Promise<BatchObject> {
    const { meta, counts } = await this.load(tenant, id);
    return toBatchObject(id, meta, counts);
  }

  /**
   * The batch once it has completed (`completed_at` set: succeeded, failed or canceled), or
   * when `ms` have passed or `signal` aborted. Woken by the completion's announcement, and
   * reads again at least every WAIT_RECHECK_MS, since an announcement can be lost. A re-read
   * that finds Redis unreachable keeps waiting (as a job's long-poll does, which reads only when
   * woken); only the first read, or one at the deadline, answers the outage.
   */
  async wait(tenant: string, id: string, ms: number, signal?: StopSignal): Promise<BatchObject> {
    const deadline = Date.now() + ms;
    let read = false;
    for (;;) {
      const left = deadline - Date.now();
      // Listen before reading, so a completion between the read and the wait is not missed.
      const listener = left > 0 && !signal?.aborted ? this.notifier.listen(id, Math.min(left, WAIT_RECHECK_MS), signal) : undefined;
      let batch: BatchObject;
      try {
        batch = await this.get(tenant, id);
        read = true;
      } catch (err) {
        if (read && listener && isRedisUnavailable(err)) {
          await listener.woken;
          listener.dispose();
          continue;
        }
        listener?.dispose();
        throw err;
      }
      if (!listener || batch.completed_at !== null) {
        listener?.dispose();
        return batch;
      }
      await listener.woken;
      listener.dispose();
    }
  }

  /**
   * Stops the chunks not yet run: waiting ones are withdrawn now, workers skip the rest. The
   * batch is listed among the canceled ones first (CANCELED_BATCHES_KEY), so that what a worker
   * holds is ended even if that worker dies with no other to take it up, and a cancel cut short
   * here is finished: see `finishCancel`.
   */
  async cancel(tenant: string, id: string): Promise<BatchObject> {
    const { meta } = await this.load(tenant, id);
    if ((await cancelBatch(this.redis, id)) !== 'canceled') return this.get(tenant, id);
    await this.redis.zadd(CANCELED_BATCHES_KEY, 'NX', clusterNow() + CANCELED_LOOK_AGAIN_MS, id);
    const queue = this.queues.forVersion(meta['model']!, Number(meta['version']));
    const total = Number(meta['chunks_total']);
    if (await this.stopChunks(tenant, id, queue, Array.from({ length: total }, (_, i) => i))) await this.redis.zrem(CANCELED_BATCHES_KEY, id);
    return this.get(tenant, id);
  }

  /**
   * Ends what no live worker will end of canceled batch `id` (services/canceled-batches.ts
   * calls it now and then until the batch completes): each chunk without an outcome whose job
   * no worker holds any more is withdrawn and recorded canceled, as the cancel does.
   * `releaseDead` first drops the locks of the chunk jobs (ids given) whose worker's liveness ran
   * out, so they can be withdrawn. A worker that takes a chunk meanwhile holds its lock, so the
   * withdrawal leaves it to that worker, which ends it canceled; one that comes back after its
   * chunk was withdrawn finds its outcome recorded (RECORD_CHUNKS_LUA keeps the first), so a
   * chunk ends once. Resolves true once the batch has completed (now or before) or is no
   * longer a canceled batch (gone), false while a live worker holds a chunk of it.
   */
  async finishCancel(id: string, releaseDead: (queueName: string, jobIds: string[]) => Promise<void>): Promise<boolean> {
    const k = batchKeys(id);
    const [status, completedAt, total, model, version, tenant] = await this.redis.hmget(k.meta, 'status', 'completed_at', 'chunks_total', 'model', 'version', 'tenant');
    if (status !== 'canceled' || completedAt !== null || !model || !version || !tenant) return true;
    const queue = this.queues.forVersion(model, Number(version));
    const recorded = new Set((await this.redis.hkeys(k.chunks)).map(Number));
    const open = Array.from({ length: Number(total) }, (_, i) => i).filter((i) => !recorded.has(i));
    await releaseDead(queue.name, open.map((i) => chunkJobId(id, i)));
    return this.stopChunks(tenant, id, queue, open);
  }

  /**
   * Withdraws those of `indices` (chunks of canceled batch `id`) whose job no worker holds and
   * records them canceled, with those an earlier cancel withdrew and did not record; resolves
   * true when that completed the batch.
   */
  private async stopChunks(tenant: string, id: string, queue: InferenceQueue, indices: readonly number[]): Promise<boolean> {
    const k = batchKeys(id);
    const withdrawn = await withdrawChunks(queue, id, indices);
    // Chunks an earlier cancel withdrew but did not record (its process stopped between the two):
    // this one records them, so a cancel cut short is finished by the next.
    const orphans = await this.unrecordedWithoutJob(queue, id, indices, new Set(withdrawn));
    const stopped = [...withdrawn, ...orphans];
    const lines = await this.storedLinesOf(k, stopped);
    const triples = stopped.flatMap((i, j) => [String(i), canceledMarker(linesWithRows(readLines(lines[j]).lines)), '']);
    await this.admission?.release(tenant, withdrawn.map((i) => ({ queue: queue.name, jobId: chunkJobId(id, i), rows: 0 }))); // quota
    const completed = await this.record(id, triples);
    // A withdrawn chunk never runs, so no worker removes its input (a fetched one's goes with its ending).
    await sendInSlices(stopped.map((i) => k.input(i)), (keys) => this.redis.unlink(...keys));
    return completed || (await this.redis.hget(k.meta, 'completed_at')) !== null;
  }

  /** The stored lines of chunks `indices` (chunk-lines.ts `storedLines`), in their order. */
  private async storedLinesOf(k: ReturnType<typeof batchKeys>, indices: readonly number[]): Promise<(string | null)[]> {
    const out: (string | null)[] = [];
    await sendInSlices(indices, async (slice) => {
      out.push(...(await this.redis.hmget(k.lines, ...slice.map(String))));
    });
    return out;
  }

  /**
   * Those of `indices` (chunks of batch `id`) with no outcome recorded and no queue job (nor
   * `skip`): none, unless a cancel withdrew them and stopped before recording them. A chunk a
   * worker holds has its job until its ending is recorded, so it is never among them (and
   * RECORD_CHUNKS_LUA keeps the first outcome of a chunk should one be recorded meanwhile).
   */
  private async unrecordedWithoutJob(queue: InferenceQueue, id: string, indices: readonly number[], skip: ReadonlySet<number>): Promise<number[]> {
    const recorded = new Set((await this.redis.hkeys(batchKeys(id).chunks)).map(Number));
    const candidates = indices.filter((i) => !skip.has(i) && !recorded.has(i));
    const orphans: number[] = [];
    await sendInSlices(candidates, async (slice) => {
      const exists = await Promise.all(slice.map((i) => this.redis.exists(bullJobKey(queue.name, chunkJobId(id, i)))));
      slice.forEach((i, j) => exists[j] === 0 && orphans.push(i));
    });
    return orphans;
  }

  /**
   * A completed batch of `tenant`'s, whose results can be read (404 for none or another
   * tenant's; 409 before it has completed). Nothing of the results is read yet: a HEAD stops here.
   */
  async finished(tenant: string, id: string): Promise<FinishedBatch> {
    const { meta, counts, k } = await this.load(tenant, id);
    if (!meta['completed_at']) {
      const why = meta['status'] === 'canceled' ? 'canceled, and a chunk a worker was running at the cancel is finishing' : meta['status'];
      // Retry-After: a poller's pace (a batch's end is not known ahead); `?wait=N` answers at the end.
      throw new AppError('batch-not-finished', `batch ${id} is ${why}; results are available once it has completed (GET /v1/batches/${id}?wait=N answers then)`, { status_of_batch: meta['status'] }, { headers: { 'Retry-After': String(BATCH_NOT_FINISHED_RETRY_S) } });
    }
    return { id, meta, k, batch: toBatchObject(id, meta, counts) };
  }
}

/**
 * Removes a batch's chunk jobs still waiting in `queue` and resolves with the indices removed
 * (in order): BullMQ's remove refuses a job a worker holds, which then ends on its own. Sent
 * ARGS_A_COMMAND at a time, each slice's removals in flight together: a model that takes no
 * batches has a chunk a line, and one by one 12,000 of them took 1.2 s here (5.6 s on a busy machine).
 */
export async function withdrawChunks(queue: InferenceQueue, id: string, indices: readonly number[]): Promise<number[]> {
  const removed: number[] = [];
  await sendInSlices(indices, async (slice) => {
    const answers = await Promise.all(slice.map((i) => queue.remove(chunkJobId(id, i)).catch(() => 0)));
    slice.forEach((i, j) => answers[j] === 1 && removed.push(i));
  });
  return removed;
}
