/**
 * JobEndings: how each job of one model version ends, for its runner. The runner fetches jobs
 * and runs their rows; everything about an ending is here: whether a job was canceled since it
 * was fetched, recording the ending through the ledger (a chunk's with its batch, a webhook
 * job's with its job.completed; a job with neither needs no record, BullMQ's completion is its
 * ending), settling it as the ledger says (an ending recorded first — a cancel, a run before a
 * crash — wins), storing large outputs apart from the result, removing a job's or chunk's input
 * bytes once its outcome is recorded, counting it (metrics, Triton statistics), and announcing
 * it to the API's waiters (a success once BullMQ has stored it: `stored`). A batch chunk is
 * counted in maas_jobs_processed_total where its outcome is recorded first (ChunkLedger: the
 * first stays), not where BullMQ settles it, so a chunk run again after a crash or a Redis
 * restart that lost its completion is counted once.
 *
 * Failures BullMQ decides on its own (stall limit, retries used up, a job canceled while
 * queued) reach `failedElsewhere` from its 'failed' event and are recorded then (or by
 * `recordMissed`, if that worker died first). A final failure is counted and announced as the
 * ledger settles it, after it is recorded, by the worker that failed it (the runner's own, or
 * BullMQ's 'failed' event there); a later look records only.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  clusterNow, CANCELED_BY_REQUEST, canceledKey, deadlinesKey, decodeJobError, dieAt, encodeJobError, jobResultKey, numericBytes, packPayload, RAW_PAYLOAD_MIN_BYTES, toEncoded,
  type EncodedTensor, type InferenceJobData, type InferenceJobResult, type JobError, type Logger, type RawTensor, whileRefused,
} from '@maas/shared';
import type { JobAnnouncer } from '../job-announcer.js';
import { settledRecord } from '../job-announcer.js';
import type { WorkerMetrics } from '../metrics.js';
import { failedRequests, requestsOf } from './requests.js';
import type { StatsRecorder } from '../stats/recorder.js';
import type { ChunkLedger } from './chunks.js';
import { endFromLedger, type EndingJob, type JobEnd } from './endings.js';
import type { JobLedger } from './jobs.js';

type InferenceJob = Job<InferenceJobData, InferenceJobResult>;

export interface JobEndingsDeps {
  queueName: string;
  labels: { model: string; version: string };
  redis: Redis;
  metrics: WorkerMetrics;
  announcer: JobAnnouncer;
  log: Logger;
  jobs?: JobLedger | undefined;
  chunks?: ChunkLedger | undefined;
  stats?: StatsRecorder | undefined;
}

type FailedOutcome = 'failed' | 'canceled' | 'expired';

/**
 * PURE: the `outcome` label a failed job is counted under: a job past its `timeout_ms` is
 * `expired` whichever side ended it (the API's deadline sweep records it first, as a rule).
 */
const outcomeOf = (error: JobError): FailedOutcome => (error.type === 'canceled' || error.type === 'expired' ? error.type : 'failed');

/** PURE: how the runner settles a job that ended as `end`. */
const settlementOf = (end: JobEnd): Settlement =>
  end.state === 'completed' ? { ok: true, result: end.result } : { ok: false, error: new UnrecoverableError(encodeJobError(end.error)) };

/** How the runner settles a job: resolve with its result, or reject (no retry). */
export type Settlement = { ok: true; result: InferenceJobResult } | { ok: false; error: UnrecoverableError };

/** Why a running batch's chunk fails when its input is gone from Redis. */
export const INPUT_LOST = "its input is no longer stored in Redis though its batch was not canceled: was it evicted? (Redis must keep every key: maxmemory-policy noeviction)";

/** How long large outputs are kept when a job's record has no age limit (JOB_RETENTION_S's default). */
const DEFAULT_RESULT_AGE_S = 24 * 3600;

/** A job BullMQ fetched: its id is set. */
const fetched = (job: Job<InferenceJobData>): EndingJob => job as EndingJob;

export class JobEndings {
  /** jobs whose final failure was recorded here, until BullMQ reports it ('failed') */
  private readonly endedHere = new Set<string>();

  constructor(private readonly d: JobEndingsDeps) {}

  /**
   * Counts an ending (maas_jobs_processed_total; a success's time from its creation too) once
   * for each request the job carries: a job the API packed counts its members or v2 requests,
   * as the clients and Triton's statistics count them (an observability audit: 80 requests
   * counted 4). A packed v2 job whose run failed counts none (`failedRequests`: each request is
   * run again alone, and counted there); a carrier's members that failed alone count as failed.
   * A failure (outcome `failed`) is counted by its error's type too (maas_job_failures_total):
   * `failureType`, else `error`'s.
   */
  private count(job: InferenceJob, outcome: 'succeeded' | FailedOutcome, error?: JobError, failedAlone?: Record<string, JobError>, failureType = error?.type): void {
    let n = outcome !== 'succeeded' && error ? failedRequests(job.data, { state: 'failed', error }) : requestsOf(job.data);
    if (failedAlone) {
      const byOutcome = new Map<FailedOutcome, number>();
      for (const e of Object.values(failedAlone)) {
        const o = outcomeOf(e);
        byOutcome.set(o, (byOutcome.get(o) ?? 0) + 1);
        if (o === 'failed') this.d.metrics.failures.inc({ ...this.d.labels, type: e.type });
        n--;
      }
      for (const [o, k] of byOutcome) this.d.metrics.jobs.inc({ ...this.d.labels, outcome: o }, k);
    }
    if (n <= 0) return;
    this.d.metrics.jobs.inc({ ...this.d.labels, outcome }, n);
    if (outcome === 'failed' && failureType !== undefined) this.d.metrics.failures.inc({ ...this.d.labels, type: failureType }, n);
    if (outcome !== 'succeeded') return;
    const seconds = (clusterNow() - job.timestamp) / 1000;
    const labels = { ...this.d.labels, kind: job.data.batch ? 'batch' : 'request' };
    for (let i = 0; i < n; i++) this.d.metrics.jobSeconds.observe(labels, seconds);
  }

  /** A batch chunk: counted where its outcome is recorded first (see the top), never where it is settled. */
  private countedAtRecord(job: InferenceJob): boolean {
    return job.data.batch !== undefined && this.d.chunks !== undefined;
  }

  /** Queues the job.start of a job about to join a run (rejects on Redis failure: BullMQ retries the job). */
  async started(job: InferenceJob): Promise<void> {
    await this.d.jobs?.started(fetched(job));
  }

  /**
   * For each job, the cancel to end it with if it (or its batch) was canceled since it was
   * fetched, else null. One Redis round trip for a whole run's jobs.
   */
  async canceled(jobs: readonly InferenceJob[]): Promise<(JobError | null)[]> {
    const batchIds = [...new Set(jobs.flatMap((j) => (j.data.batch ? [j.data.batch.id] : [])))];
    const [scores, droppedBatches] = await Promise.all([
      this.d.redis.zmscore(canceledKey(this.d.queueName), ...jobs.map((j) => j.id!)),
      this.d.chunks?.droppedBatches(batchIds) ?? new Set<string>(),
    ]);
    return jobs.map((j, i) => {
      const batch = j.data.batch;
      if (scores[i] === null && !(batch && droppedBatches.has(batch.id))) return null;
      return batch ? { type: 'canceled', message: 'the batch was canceled' } : CANCELED_BY_REQUEST;
    });
  }

  /**
   * Records a job whose rows all ran with `outputs` (a chunk's go to its batch, the job keeps
   * none; a chunk's `rowErrors`, rows that failed alone, go with them) and says how to settle it. Rejects when Redis failed: nothing is recorded, BullMQ
   * retries the job.
   */
  async succeeded(
    job: InferenceJob, outputs: RawTensor[], resultOf: (outputs: EncodedTensor[]) => InferenceJobResult, rowErrors?: ReadonlyMap<number, JobError>,
  ): Promise<Settlement> {
    const chunk = job.data.batch;
    if (chunk && this.d.chunks) {
      if (await this.d.chunks.succeeded(chunk, outputs, rowErrors)) this.count(job, 'succeeded');
      this.releasePayload(job);
      outputs = [];
    }
    // Large outputs go beside the job as raw bytes, before BullMQ stores the result that
    // points at them, instead of base64 in it (payloads.ts `InferenceJobResult.payload`).
    const apart = numericBytes(outputs) >= RAW_PAYLOAD_MIN_BYTES ? await this.storeOutputs(job, outputs) : undefined;
    const result = apart ? { ...resultOf(apart.described), payload: apart.key } : resultOf(outputs.map(toEncoded));
    let end: JobEnd = { state: 'completed', result, outputs };
    const recorded = this.d.jobs ? await this.d.jobs.end(fetched(job), end) : ({ won: true } as const);
    if (!recorded.won && recorded.ending) end = endFromLedger(recorded.ending, end, recorded.result);
    this.d.stats?.ending(job, end);
    if (end.state === 'failed') {
      if (apart) this.unlink(job, apart.key);
      this.forgetDeadline(job); // a completion's goes once BullMQ has stored it (`stored`)
      // An ending recorded first (a cancel): the job ends that way, as the API said.
      if (!this.countedAtRecord(job)) this.count(job, outcomeOf(end.error), end.error);
      this.endedHere.add(job.id!);
      this.d.announcer.announce({ id: job.id!, event: 'failed' });
      return { ok: false, error: new UnrecoverableError(encodeJobError(end.error)) };
    }
    return { ok: true, result: end.result }; // announced and counted once BullMQ has stored it: `stored`
  }

  /**
   * BullMQ stored a success (its 'completed' event): now it is counted and announced, with its
   * settled record. Not before: a completion BullMQ refuses (the job's lock was taken from a
   * worker cut off from Redis, and another worker ran it) must not reach waiters.
   */
  stored(job: InferenceJob, result: InferenceJobResult): void {
    // A job's own input bytes go now, not at `succeeded`: until BullMQ took the completion,
    // another worker may still be about to run it. A chunk's went with its outputs.
    if (!job.data.batch) this.releasePayload(job);
    this.forgetDeadline(job);
    if (!this.countedAtRecord(job)) this.count(job, 'succeeded', undefined, result.memberErrors);
    const settled = settledRecord(job, result);
    this.d.announcer.announce({ id: job.id!, event: 'completed', ...(settled ? { tenant: job.data.tenant, settled } : {}) });
  }

  /**
   * Records a final failure (a chunk's with its batch, a webhook job's with its job.completed)
   * and resolves with how to settle the job: failed with the error, no retry (the ledger's if
   * an earlier ending, a cancel, was recorded first), or completed with the result of a run
   * whose completion was recorded before its worker died (this is a run after that crash).
   * Rejects when Redis failed: nothing is recorded, and BullMQ may retry the job.
   */
  async failed(job: InferenceJob, error: JobError, outcome: FailedOutcome = outcomeOf(error)): Promise<Settlement> {
    const end = await this.record(job, error, outcome);
    this.d.stats?.ending(job, end);
    if (end.state === 'failed') {
      this.countFailure(job, end, error, outcome);
      this.d.announcer.announce({ id: job.id!, event: 'failed' });
    } // a completion: counted and announced once BullMQ has stored it (`stored`)
    return settlementOf(end);
  }

  /**
   * Counts a final failure as the ledger settled it (`end`): as `outcome` when it is the
   * failure this worker recorded, else as the ending recorded first (a cancel); a chunk is
   * counted where its outcome is recorded instead (`recordChunk`).
   */
  private countFailure(job: InferenceJob, end: JobEnd, mine: JobError, outcome: FailedOutcome): void {
    if (this.countedAtRecord(job)) return;
    if (end.state === 'completed') this.count(job, 'succeeded', undefined, end.result.memberErrors);
    else this.count(job, end.error === mine ? outcome : outcomeOf(end.error), end.error);
  }

  /**
   * A job fetched without its input bytes. A chunk's go as soon as its outcome is recorded with
   * its batch (`succeeded`), before BullMQ stores its completion: a chunk fetched again after
   * that (Redis kept the record but lost the completion: a restart from an append-only file
   * that ends between the two, a failover) settles as recorded, `completed` for rows that ran,
   * so BullMQ's sets, the queue board and `maas_queue_jobs` say how it ended (not counted again
   * in `maas_jobs_processed_total`: the run that recorded it was). Otherwise its batch
   * was canceled or is gone (canceled), or runs on and lost the input to something else (an
   * eviction: `internal`, INPUT_LOST), or a job's own input outlived its time in the queue
   * (expired: a job's payload lives as long as its index, JOB_RETENTION_S + 1 h).
   */
  async inputGone(job: InferenceJob, completed: InferenceJobResult): Promise<Settlement> {
    const chunk = job.data.batch;
    if (!chunk) return this.failed(job, { type: 'expired', message: 'its input is no longer stored: it waited in the queue longer than jobs are kept' }, 'expired');
    const recorded = await this.d.chunks?.recorded(chunk);
    if (recorded?.kind === 's' || recorded?.kind === 'p') return { ok: true, result: completed };
    if (recorded?.kind === 'f' && recorded.error) return this.failed(job, recorded.error, recorded.error.type === 'expired' ? 'expired' : undefined);
    // A batch that runs on, not canceled: its chunk's input was taken from Redis by something
    // else (an eviction policy: Redis must keep every key, `noeviction`), and its lines fail so.
    const dropped = await this.d.chunks?.droppedBatches([chunk.id]);
    if (dropped && !dropped.has(chunk.id)) return this.failed(job, { type: 'internal', message: INPUT_LOST });
    return this.failed(job, { type: 'canceled', message: 'the batch was canceled or is gone: its input is no longer stored' });
  }

  /**
   * A batch chunk's failure or cancel, with its batch, counted when it is the chunk's first
   * outcome (nothing for a job that is no chunk).
   */
  private async recordChunk(job: InferenceJob, error: JobError, outcome: FailedOutcome = outcomeOf(error)): Promise<void> {
    const chunk = job.data.batch;
    if (!chunk || !this.d.chunks) return;
    if (await (error.type === 'canceled' ? this.d.chunks.canceled(chunk) : this.d.chunks.failed(chunk, error))) this.count(job, outcome, undefined, undefined, error.type);
  }

  /** Records a final failure; resolves with the ending the ledger settled on (the first recorded). */
  private async record(job: InferenceJob, error: JobError, outcome?: FailedOutcome): Promise<JobEnd> {
    await this.recordChunk(job, error, outcome);
    let end: JobEnd = { state: 'failed', error };
    const recorded = this.d.jobs ? await this.d.jobs.end(fetched(job), end) : ({ won: true } as const);
    if (!recorded.won && recorded.ending) end = endFromLedger(recorded.ending, end, recorded.result);
    this.forgetDeadline(job); // it has ended, whichever ending the ledger kept
    // A completion's payload goes once BullMQ has stored it (`stored`), or with `failedElsewhere`.
    if (end.state === 'failed') {
      this.releasePayload(job);
      this.endedHere.add(job.id!);
    }
    return end;
  }

  /**
   * A final failure BullMQ decided without the runner: stalled too often, retries used up after
   * Redis errors, or a job canceled while queued (its deferred failure, set by the API's cancel:
   * CANCEL_JOB_LUA). BullMQ 6 fails such a job when a worker fetches it, without running it,
   * through its 'failed' event (e2e "a job whose workers keep dying", "cancel of a queued job").
   * Recorded now, so its batch completes and its job.completed goes out; then counted as the
   * ledger settled it (a completion recorded before its run's worker died counts as the success
   * no one counted; a chunk once its outcome is recorded, if first) and announced. Recording
   * twice is harmless: the first ending recorded wins. When Redis fails, the waiters are told
   * anyway (they read BullMQ's failure) and `recordMissed` records it later (uncounted).
   */
  failedElsewhere(job: InferenceJob): void {
    if (this.endedHere.delete(job.id!)) return;
    dieAt('final-failure');
    const error = decodeJobError(job.failedReason);
    const outcome = outcomeOf(error);
    this.record(job, error, outcome)
      .then((end) => {
        this.endedHere.delete(job.id!);
        if (end.state === 'completed') this.releasePayload(job); // BullMQ failed it: no run will store it
        this.d.stats?.ending(job, end);
        this.countFailure(job, end, error, outcome);
      })
      .catch((err: unknown) => this.d.log.error({ err, jobId: job.id }, 'could not record a final failure'))
      .finally(() => this.d.announcer.announce({ id: job.id!, event: 'failed' }));
  }

  /**
   * Records again the final failure of a job BullMQ failed on its own, in case the worker
   * whose 'failed' event should have recorded it died first (ledger/missed-failures.ts). The
   * first ending recorded wins, so a repeat changes nothing. It counts nothing (but a chunk's
   * outcome it records first, counted where chunks are: `recordChunk`): every runner looks at
   * every failed job, and `failedElsewhere` of the worker that saw the failure counts it even
   * when a look recorded it first (a Redis refusing writes holds both for seconds), so a
   * failure whose worker died in that instant goes uncounted rather than counted twice.
   */
  async recordMissed(job: InferenceJob): Promise<void> {
    const error = decodeJobError(job.failedReason);
    const end = await this.record(job, error);
    this.endedHere.delete(job.id!); // BullMQ's 'failed' event for it has come and gone
    if (end.state === 'completed') this.releasePayload(job);
    this.d.announcer.announce({ id: job.id!, event: 'failed' }); // waiters re-read the job
  }

  /**
   * Stores large outputs as one raw byte string under the job's result key, for as long as
   * BullMQ keeps the job's record (its removeOnComplete age, as the API queues every job) and
   * an hour more; the outputs' descriptions say where each output's bytes sit. The first run's
   * bytes stay (`NX`): a run after a crash that followed a recorded completion settles with that
   * completion's result, which points at them (a re-run on other rows' company may differ in
   * the last bits).
   */
  private async storeOutputs(job: InferenceJob, outputs: RawTensor[]): Promise<{ key: string; described: EncodedTensor[] }> {
    const packed = packPayload(outputs);
    const key = jobResultKey(this.d.queueName, job.id!);
    const keep = job.opts.removeOnComplete;
    const age = typeof keep === 'object' && 'age' in keep && keep.age !== undefined ? keep.age : DEFAULT_RESULT_AGE_S;
    await whileRefused(() => this.d.redis.set(key, packed.bytes, 'EX', age + 3600, 'NX'));
    return { key, described: packed.inputs };
  }

  /** Removes a job's raw input bytes once its outcome is recorded (a crash before leaves them to their TTL). */
  private releasePayload(job: InferenceJob): void {
    const key = job.data.payload;
    if (key) this.unlink(job, key);
  }

  /**
   * A job that ended needs its deadline's entry no more (services/expiry.ts ends at it a job
   * still queued then): removed now, not left until the deadline (up to a week: a soak audit
   * found one entry a timed request, kept long after the job had gone).
   */
  private forgetDeadline(job: InferenceJob): void {
    if (job.data.deadline === undefined) return;
    this.d.redis.zrem(deadlinesKey(this.d.queueName), job.id!).catch((err: unknown) => this.d.log.warn({ err, jobId: job.id }, 'could not remove a job\'s deadline entry; it goes at its deadline'));
  }

  private unlink(job: InferenceJob, key: string): void {
    this.d.redis.unlink(key).catch((err: unknown) => this.d.log.warn({ err, jobId: job.id, key }, 'could not remove a job payload'));
  }
}
