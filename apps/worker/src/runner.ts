/**
 * ModelRunner: serves one model version: fetches its jobs from BullMQ and runs their rows.
 * The only BullMQ consumer of inference jobs in the worker.
 *
 * BullMQ's open edition hands a processor one job at a time, so the Worker runs with a high
 * concurrency once it holds jobs (one at low load: batching/fetch-limit.ts): it keeps
 * fetching while earlier jobs wait in the Collector, and each processor
 * call just parks its job there and awaits the job's result. The Collector cuts runs; this
 * module joins their rows, runs them on a session thread while it checks the jobs due a check
 * for cancellation (in parallel with the run: batching/cancel-check.ts), and hands each job its
 * rows back; a run that fails for what its rows hold runs them again apart until the rows at
 * fault are found (failed-runs.ts). How a job ends — recorded through the ledger, settled as
 * the ledger says, counted, announced — is ledger/job-endings.ts. Locks, stall recovery and retries stay per
 * job, as BullMQ made them: a worker killed mid-run leaves its jobs locked until live
 * workers see its liveness beat missing and drop those locks (see liveness/sweeper.ts), or the
 * lock expires; then a stall check requeues them. A run lost with its session thread (see
 * inference/session-pool.ts) is retried the same way.
 */
import { Job, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  clusterNow, bullmqConnectionOptions, createRedis, isClusterUrl, isRedisUnavailable,
  chunkRows, misfit, modelDigests, modelVersionTag, EXPIRED_IN_QUEUE, fromEncoded, startBatch, inferenceQueueName, PREFIX, unfinishedJobCount, throttledErrorLog, unpackPayload,
  type EncodedTensor, type InferenceJobData, type InferenceJobResult, type JobError, type Logger, type ModelInfo,
  type ModelVersion, type RawTensor,
} from '@maas/shared';
import { assembleFeeds, shapeKey, splitOutputs } from './batching/assemble.js';
import { installBlockingFetch } from './batching/blocking-fetch.js';
import { closeWorker } from './liveness/closing-worker.js';
import { handBackOf, installLostFetches } from './liveness/lost-fetches.js';
import { logStalled } from './liveness/stalled-line.js';
import { Collector } from './batching/collector.js';
import { fullRunsAhead } from './batching/full-ahead.js';
import { dueForCancelCheck } from './batching/cancel-check.js';
import { fetchLimit, handsBack, IDLE_BEFORE_QUICK_MS } from './batching/fetch-limit.js';
import { lineRanges, rowsIn, sameError } from './chunk-lines/failed-lines.js';
import { defaultConcurrency, rowBudget } from './batching/holding.js';
import { queueOrder } from './batching/queue-order.js';
import type { Slice } from './batching/cut.js';
import type { SessionPool } from './inference/session-pool.js';
import { SessionLostError } from './inference/instance-health.js';
import type { WorkerMetrics } from './metrics.js';
import { joinParts, memberRanges, selectOutputs, withoutRows } from './postprocess/outputs.js';
import { isolateFailure, type Rerun } from './failed-runs.js';
import { queued, type Task } from './task.js';
import { JobAnnouncer } from './job-announcer.js';
import type { ChunkLedger } from './ledger/chunks.js';
import { JobEndings } from './ledger/job-endings.js';
import { MissedFailures } from './ledger/missed-failures.js';
import type { JobLedger } from './ledger/jobs.js';
import { requestsOf } from './ledger/requests.js';
import type { StatsRecorder } from './stats/recorder.js';

export interface RunnerSettings {
  workerId: string;
  redisUrl: string;
  lockMs: number;
  stalledIntervalMs: number;
  /** jobs fetched and held at once; 0 = derived from the model's max_batch_size */
  concurrency: number;
  /** an idle worker's wait also takes the job (batching/blocking-fetch.ts) */
  blockingFetch?: boolean;
}

/** Where endings are recorded and counted (see ledger/). */
export interface RunnerRecording {
  jobs?: JobLedger;
  chunks?: ChunkLedger;
  stats?: StatsRecorder;
}

export class ModelRunner {
  private readonly worker: Worker<InferenceJobData, InferenceJobResult>;
  private readonly collector: Collector<Task>;
  /** the BullMQ queue of this version */
  readonly queueName: string;
  private readonly labels: { model: string; version: string };
  private readonly connection: Redis;
  private readonly stats: StatsRecorder | undefined;
  private readonly endings: JobEndings;
  private readonly missedFailures: MissedFailures;
  private readonly maxConcurrency: number;
  private readonly rowBudget: number;
  private readonly announcer: JobAnnouncer;
  private heldJobs = 0;
  private heldRows = 0;
  /** the one job held runs at once and briefly (batching/fetch-limit.ts `quick`) */
  private heldQuick = false;
  /** when the runner last came to hold no job (performance.now()) */
  private idleSince = 0;
  /** most rows held at once since the runner last held none, and in the busy spell before (batching/fetch-limit.ts) */
  private peakHeld = 0;
  private lastPeakHeld = 0;
  /** finishedOn of the job completed last: a job fetched by that completion has it as its processedOn */
  private lastFinishedOn: number | undefined;
  /** moving average of rows per job, to turn the row budget into a number of jobs to fetch */
  private rowsPerJob: number;
  /** batches this runner has marked running (START_BATCH_LUA), the latest few thousand: once each */
  private readonly startedBatches = new Set<string>();
  /** liveness/lost-fetches.ts `handBack` on this queue (undefined: BullMQ's moveToWait) */
  private readonly handBackJob: ((id: string, token: string) => Promise<void>) | undefined;
  /** how a run that failed for its rows finds the rows at fault (failed-runs.ts) */
  private readonly rerun: Rerun;

  constructor(
    private readonly model: ModelInfo,
    private readonly version: ModelVersion,
    private readonly pool: SessionPool,
    private readonly redis: Redis,
    private readonly metrics: WorkerMetrics,
    private readonly log: Logger,
    settings: RunnerSettings,
    recording: RunnerRecording = {},
  ) {
    this.queueName = inferenceQueueName(version.model, version.version);
    this.rerun = {
      run: (slices) => this.executeRun(slices),
      finish: (task) => void this.finish(task),
      failWith: (task, error) => this.failWith(task, error),
      log,
    };
    this.labels = { model: version.model, version: String(version.version) };
    this.collector = new Collector<Task>({
      maxRows: version.maxBatchSize,
      maxDelayMs: model.config.max_queue_delay_ms,
      preferred: model.config.preferred_batch_sizes,
      concurrency: pool.size,
      fullAhead: () => pool.size * fullRunsAhead(pool.predictMs(version.maxBatchSize)),
      run: (slices) => this.executeRun(slices).catch((err: unknown) => this.runFaulted(slices, err as Error)),
      order: (a, b) => queueOrder(queued(a), queued(b)),
    });
    // Not auto-pipelined (none is: @maas/shared redis.ts): BullMQ defines its scripts on this
    // connection, which made each auto-pipeline cost 75 µs to build; the worker spent 5-9 % less CPU a job without.
    this.connection = createRedis(settings.redisUrl, bullmqConnectionOptions(`${settings.workerId}:${this.tag}`));
    this.connection.on('error', () => {}); // BullMQ reports connection trouble through the worker's 'error' event
    this.maxConcurrency = settings.concurrency || defaultConcurrency(version, pool.size);
    this.rowBudget = rowBudget(version, pool.size);
    // Until jobs are seen, assume they are as large as a batch-file chunk: a worker starting in
    // front of a queue of big chunks must not fetch all of them in its first breath.
    this.rowsPerJob = chunkRows(version);
    this.worker = new Worker<InferenceJobData, InferenceJobResult>(this.queueName, (job, token) => this.hold(job, token), {
      connection: this.connection,
      prefix: PREFIX,
      concurrency: this.allowedJobs(),
      lockDuration: settings.lockMs,
      stalledInterval: settings.stalledIntervalMs,
      maxStalledCount: 2,
      autorun: false,
      name: settings.workerId,
    });
    const cluster = isClusterUrl(settings.redisUrl);
    const lostFetches = installLostFetches(this.worker, this.connection, log, cluster);
    this.handBackJob = handBackOf(this.worker);
    if (settings.blockingFetch ?? true) installBlockingFetch(this.worker, log, cluster, lostFetches);
    this.announcer = new JobAnnouncer(this.connection, log);
    this.stats = recording.stats;
    this.endings = new JobEndings({ queueName: this.queueName, labels: this.labels, redis, metrics, announcer: this.announcer, log, ...recording });
    // A success is announced (with its settled record, which API waiters answer from) and
    // counted only once BullMQ has stored it: a worker that lost its jobs (cut off from Redis
    // long enough for its liveness beat to expire) and finishes them after it reconnects has
    // its completions refused ("Missing lock"), and must not tell waiters about an ending that
    // another worker's run replaced (e2e chaos.multihost).
    this.worker.on('completed', (job, result) => {
      this.lastFinishedOn = job.finishedOn;
      this.endings.stored(job, result);
    });
    this.worker.on('failed', (job) => job && job.finishedOn && this.endings.failedElsewhere(job));
    // ...and, in case the worker that heard of such a failure died first, a look now and then.
    this.missedFailures = new MissedFailures({
      queueName: this.queueName,
      redis,
      fetch: async (id) => (await Job.fromId<InferenceJobData, InferenceJobResult>(this.worker, id)) ?? undefined,
      record: (job) => this.endings.recordMissed(job),
      log,
    });
    this.worker.on('error', throttledErrorLog(this.log, 'worker error'));
    this.worker.on('stalled', (jobId) => logStalled(redis, this.queueName, jobId, this.log));
  }

  get tag(): string {
    return modelVersionTag(this.version.model, this.version.version);
  }

  /** The model version served. */
  get served(): { model: string; version: number } {
    return { model: this.version.model, version: this.version.version };
  }

  get provider(): string {
    return this.pool.provider;
  }

  /** What it serves, by content (`modelDigests`: config and labels, then model.onnx's bytes). */
  get digest(): string {
    return modelDigests(this.model, this.version);
  }

  /** The session pool of this version (whether a session serves it, see SessionPool.serving). */
  get sessions(): SessionPool {
    return this.pool;
  }

  start(): void {
    this.missedFailures.start();
    void this.worker.run().catch((err: unknown) => this.log.error({ err }, 'worker loop ended'));
  }

  /** Jobs in this version's queue not yet finished (waiting or held). */
  unfinished(): Promise<number> {
    return unfinishedJobCount(this.redis, this.queueName);
  }

  /**
   * Stop fetching; hand the batch chunks held but not started back to their queue; run what is
   * held now without waiting for runs to fill; then free the sessions.
   */
  async close(): Promise<void> {
    const closing = closeWorker(this.worker);
    await this.missedFailures.stop();
    // A chunk is many runs: a drain that ran the one fetched ahead of the running one took twice
    // as long, past a spot reclaim's grace for a heavy model (a spot-instance audit), and a kill
    // then cost both chunks an interruption. Other jobs are few rows, and their job.start may be out.
    const unstarted = this.collector.withdraw((t) => t.job.data.batch !== undefined);
    await Promise.all(unstarted.map((t) => this.returnUnstarted(t)));
    await this.collector.drain();
    await closing;
    await this.pool.close();
    this.connection.disconnect();
  }

  /** Counts what this worker holds and sets BullMQ's concurrency (read before each fetch): see batching/fetch-limit.ts. */
  private async hold(job: Job<InferenceJobData>, token: string | undefined): Promise<InferenceJobResult> {
    const rows = job.data.rows;
    // Batch chunks only: a fetch stamps a job's processedOn, which a public job shows as its
    // started_at and its expiry reads as "taken before" (never expired); a chunk shows neither.
    if (job.data.batch !== undefined && handsBack({ jobs: this.heldJobs, rows: this.heldRows }, rows, this.rowBudget) && (await this.handBack(job, token))) {
      throw new WaitingError(); // neither completed nor failed: BullMQ leaves it where it went
    }
    // BullMQ's completion script fetches the next job (when the limit allows) and gives it the
    // completion's timestamp: a job that came that way was waiting already, a backlog, so the
    // fetch limit leaves its low-load setting (batching/fetch-limit.ts).
    if (job.processedOn !== undefined && job.processedOn === this.lastFinishedOn) this.lastPeakHeld = Math.max(this.lastPeakHeld, 2);
    // When it started, on the cluster's clock (its started_at and queue_ms): BullMQ's fetch
    // stamped it with this host's, and a host 2 h ahead showed every job started in the future.
    job.processedOn = clusterNow();
    this.heldQuick = this.heldJobs === 0 && rows <= 1 && performance.now() - this.idleSince >= IDLE_BEFORE_QUICK_MS
      && this.collector.startsAtOnce(rows) && this.pool.runsInline(rows);
    this.heldJobs++;
    this.heldRows += rows;
    this.peakHeld = Math.max(this.peakHeld, this.heldRows);
    this.rowsPerJob = 0.7 * this.rowsPerJob + 0.3 * rows;
    this.throttle();
    try {
      return await this.process(job);
    } finally {
      this.heldJobs--;
      this.heldRows -= rows;
      if (this.heldJobs === 0) {
        this.lastPeakHeld = this.peakHeld;
        this.peakHeld = 0;
        this.idleSince = performance.now();
      }
      this.throttle();
    }
  }

  /**
   * Puts a batch chunk fetched past the row budget back in its queue, unstarted (`sendBack`). The
   * jobs fetched show how large the queue's are: until smaller ones come, the limit counts jobs
   * this large, and fetches none past what is held. True when it is gone from here (handed
   * back, or moved on meanwhile); false when Redis could not be reached: it is kept and runs here.
   */
  private async handBack(job: Job<InferenceJobData>, token: string | undefined): Promise<boolean> {
    this.rowsPerJob = Math.max(this.rowsPerJob, job.data.rows);
    this.throttle();
    const sent = await this.sendBack(job, token);
    if (sent.outcome === 'kept') return false;
    if (sent.outcome === 'gone') this.log.debug({ err: sent.err, job_id: job.id }, 'a chunk to hand back was moved on meanwhile');
    else this.log.debug({ job_id: job.id, rows: job.data.rows, held_rows: this.heldRows, row_budget: this.rowBudget }, 'batch chunk handed back: past the rows a worker holds');
    return true;
  }

  /** A held task no run has started, back to its queue as `handBack` puts a job (should Redis be unreachable, it runs here after all). */
  private async returnUnstarted(task: Task): Promise<void> {
    const sent = await this.sendBack(task.job, task.job.token);
    if (sent.outcome === 'kept') {
      this.log.warn({ err: sent.err, job_id: task.job.id }, 'stopping: a batch chunk could not be handed back; it runs here');
      this.collector.add(task, task.rows, shapeKey(task.inputs));
      return;
    }
    if (sent.outcome === 'gone') this.log.warn({ err: sent.err, job_id: task.job.id }, 'stopping: a batch chunk to hand back was moved on meanwhile');
    else this.log.info({ job_id: task.job.id, batch_id: task.job.data.batch?.id, rows: task.rows }, 'stopping: a batch chunk not started handed back to its queue');
    task.reject(new WaitingError()); // neither completed nor failed: BullMQ leaves it where it went
  }

  /**
   * Sends a job fetched and not started back to its queue as it was before its fetch
   * (liveness/lost-fetches.ts `handBack`: its fetch's stamps undone, the queue marked for waiting
   * workers; on a Redis Cluster too; BullMQ's moveToWait where BullMQ lacks what it uses), at the front of the jobs of its
   * priority. 'back'; 'kept': Redis could not be reached, the job is still this worker's; 'gone':
   * its lock is no longer ours (a resent move that had been done, or it was taken back), so it
   * must not run here.
   */
  private async sendBack(job: Job<InferenceJobData>, token: string | undefined): Promise<{ outcome: 'back' } | { outcome: 'kept' | 'gone'; err: string }> {
    try {
      await (this.handBackJob && token !== undefined && job.id !== undefined ? this.handBackJob(job.id, token) : job.moveToWait(token));
      return { outcome: 'back' };
    } catch (err) {
      return { outcome: isRedisUnavailable(err) ? 'kept' : 'gone', err: (err as Error).message };
    }
  }

  private allowedJobs(): number {
    return fetchLimit({ jobs: this.heldJobs, rows: this.heldRows, quick: this.heldQuick }, this.rowBudget, this.rowsPerJob, this.maxConcurrency, this.lastPeakHeld);
  }

  private throttle(): void {
    this.worker.concurrency = this.allowedJobs();
  }

  private async process(job: Job<InferenceJobData>): Promise<InferenceJobResult> {
    const data = job.data;
    // `timeout_ms` expires a job no worker has taken by then: one taken before (its worker died
    // or froze, and this is its run after the stall) runs to its end, as CONTRACT §6 promises.
    const takenBefore = job.attemptsStarted > 1 || job.stalledCounter > 0;
    if (data.deadline !== undefined && clusterNow() > data.deadline && !takenBefore) {
      return this.endWithout(job, EXPIRED_IN_QUEUE, 'expired');
    }
    if (data.batch) this.batchStarted(data.batch.id);
    let inputs: RawTensor[];
    let bytes: Buffer | null = null;
    if (data.payload) {
      bytes = await this.redis.getBuffer(data.payload);
      if (!bytes) {
        const settled = await this.endings.inputGone(job, this.notRunHere(job));
        if (settled.ok) return settled.result;
        throw settled.error;
      }
    }
    try {
      inputs = bytes ? unpackPayload(data.inputs, bytes) : data.inputs.map(fromEncoded);
    } catch (err) {
      // The API only queues checked tensors: a payload that does not decode will never run.
      return this.endWithout(job, { type: 'internal', message: `unreadable job payload: ${(err as Error).message}` });
    }
    // Checked by the API against the model as it read it: a file replaced since (each reads the
    // repository on its own) may take other inputs, refused as invalid, not run into an error.
    const issue = misfit(this.version, inputs, data.outputs);
    if (issue) {
      const message = `${issue.path}: ${issue.message} (${this.tag} as this worker serves it: the API that accepted the request read other files for it, and one of them has not read a change yet; send it again)`;
      return this.endWithout(job, { type: 'invalid-input', message });
    }
    // Its job.start is queued before the job joins a run (a Redis failure retries the job).
    await this.endings.started(job);
    return new Promise((resolve, reject) => {
      const receivedAt = performance.now();
      const task: Task = {
        job, inputs, rows: data.rows, receivedAt, done: 0, parts: [], inferenceMs: 0,
        maxRunRows: 0, runs: 0, failed: false, resolve, reject,
        // Its fetch was its first cancel check: a job canceled while queued never gets here
        // (BullMQ fails it at fetch, see CANCEL_JOB_LUA). A chunk's batch is checked at its first run.
        ...(data.batch ? {} : { cancelCheckedAt: receivedAt }),
      };
      this.collector.add(task, task.rows, shapeKey(inputs));
    });
  }

  /**
   * A batch is running from when a worker takes one of its chunks (its `started_at`). Not
   * awaited: should the call fail, the batch is marked when its first chunk's outcome is recorded.
   */
  private batchStarted(batchId: string): void {
    if (this.startedBatches.has(batchId)) return;
    if (this.startedBatches.size >= 4096) this.startedBatches.clear();
    this.startedBatches.add(batchId);
    startBatch(this.redis, batchId).catch(() => undefined);
  }

  /**
   * A fault of this code while a micro-batch ran (a model's failure never comes here: see
   * executeRun): its jobs go back to BullMQ to be tried again, not left waiting for ever.
   * A job whose rows all ran (a rerun of a failed run's isolation may have finished it before
   * the fault) is left to its ending, which is under way.
   */
  private runFaulted(slices: readonly Slice<Task>[], err: Error): void {
    this.log.error({ err, jobs: new Set(slices.map((s) => s.job.job.id)).size }, 'a micro-batch failed in the worker itself; its jobs are retried');
    for (const s of slices) if (s.job.done < s.job.rows) this.fail(s.job, err);
  }

  /** A failure BullMQ may retry (Redis trouble, a lost session thread): nothing is recorded. */
  private fail(task: Task, err: Error): void {
    if (task.failed) return;
    task.failed = true;
    task.reject(err);
  }

  /**
   * A job that ends before its rows run: failed with `error`, recorded (JobEndings.failed),
   * without retry; or completed as recorded, when this is a run after a crash that followed
   * the job's recorded completion.
   */
  private async endWithout(job: Job<InferenceJobData>, error: JobError, outcome?: 'expired'): Promise<InferenceJobResult> {
    const settled = await this.endings.failed(job, error, outcome);
    if (settled.ok) return settled.result;
    throw settled.error;
  }

  /** A final failure: recorded (see JobEndings.failed), then the job fails without retry (or completes as recorded: `endWithout`). */
  private failWith(task: Task, error: JobError): void {
    if (task.failed) return;
    task.failed = true;
    // Not recorded (Redis failed): BullMQ retries the job.
    this.endWithout(task.job, error).then(task.resolve, task.reject);
  }

  /**
   * Fails the jobs of `tasks` canceled (or whose batch was canceled) since they were fetched.
   * Made while the run computes (a job spread over many runs: see batching/cancel-check.ts):
   * a canceled job's rows may still run, but its outputs are dropped and it ends as canceled.
   */
  private async dropCanceled(tasks: Task[]): Promise<void> {
    const canceled = await this.endings.canceled(tasks.map((t) => t.job));
    tasks.forEach((t, i) => canceled[i] && this.failWith(t, canceled[i]));
  }

  private async executeRun(cut: Slice<Task>[]): Promise<void> {
    const slices = cut.filter((s) => !s.job.failed);
    if (slices.length === 0) return;
    const now = performance.now();
    for (const s of slices) s.job.dispatchedAt ??= now;
    const rows = slices.reduce((n, s) => n + s.end - s.start, 0);
    // Offsets as if the dropped slices were never there.
    let offset = 0;
    const packed = slices.map((s) => {
      const p = { ...s, offset };
      offset += s.end - s.start;
      return p;
    });
    const due = dueForCancelCheck(packed.map((s) => s.job), now);
    const [checked, ran] = await Promise.allSettled([
      due.length > 0 ? this.dropCanceled(due) : undefined,
      this.pool.run(assembleFeeds(packed, (t) => t.inputs)),
    ]);
    if (checked.status === 'rejected') {
      // Redis unreachable: the jobs go back through BullMQ's retry (their locks may be gone anyway).
      for (const s of packed) this.fail(s.job, checked.reason as Error);
      return;
    }
    if (ran.status === 'rejected') {
      const err = ran.reason as Error;
      if (err instanceof SessionLostError) {
        // The session thread died or wedged (the pool replaces it): not the jobs' fault, so
        // BullMQ retries them, on this worker's new thread or elsewhere.
        this.log.warn({ reason: err.reason, rows }, 'session lost mid-run; jobs retried');
        for (const s of packed) this.fail(s.job, err);
        return;
      }
      return isolateFailure(packed, err, this.rerun);
    }
    const result = ran.value;
    // Requests, as maas_jobs_processed_total counts them: a packed job counts each it carries.
    let jobsInRun = 0;
    for (const task of new Set(packed.map((s) => s.job))) jobsInRun += requestsOf(task.job.data);
    this.metrics.runRows.observe(this.labels, rows);
    this.metrics.runJobs.observe(this.labels, jobsInRun);
    this.metrics.inferenceSeconds.observe(this.labels, result.ms / 1000);
    this.stats?.run(this.version.model, this.version.version, rows, result.ms);
    const shares = this.sharesOf(packed, rows, result.outputs);
    if (!shares) return;
    packed.forEach((s, i) => {
      const task = s.job;
      if (task.failed) return;
      task.parts.push({ start: s.start, outputs: shares[i]! });
      task.done += s.end - s.start;
      task.inferenceMs += result.ms;
      task.maxRunRows = Math.max(task.maxRunRows, rows);
      task.runs++;
      if (task.done === task.rows) void this.finish(task);
    });
  }

  /**
   * Each slice's share of a run's outputs. A model that cannot batch runs one job whole, whose
   * outputs are the run's as they are (`[2, rows]`, `[1, 1]`: their first dimension is not the
   * rows). One that batches must give each output `rows` first: else (config.json's
   * `max_batch_size` said so of a model it does not hold for) the jobs fail rather than take
   * rows that are not theirs; undefined then.
   */
  private sharesOf(packed: readonly Slice<Task>[], rows: number, outputs: RawTensor[]): RawTensor[][] | undefined {
    if (!this.version.batchable) return packed.map(() => outputs);
    const stray = outputs.find((o) => o.shape[0] !== rows);
    if (!stray) return splitOutputs(packed, outputs);
    const message = `output ${stray.name} has ${stray.shape[0]} in its first dimension for a run of ${rows} rows: the model does not batch along it, so its config.json must not set max_batch_size (0 runs each request alone)`;
    this.log.error({ output: stray.name, shape: stray.shape, rows }, 'a run\'s output is not its rows: jobs failed');
    for (const s of packed) this.failWith(s.job, { type: 'inference-failed', message });
    return undefined;
  }

  /** All of a job's rows ran (or failed alone: `rowErrors`, `memberErrors`): its outputs and metrics go to JobEndings, which settles it. */
  private async finish(task: Task): Promise<void> {
    const failedLines = task.rowErrors && lineRanges(task.lines!, task.rowErrors);
    if (failedLines && rowsIn(failedLines) === task.rows && sameError(task.rowErrors!)) {
      // Every line failed alike (past MAX_LINES_FAILED_ALONE, or one line): the chunk failed.
      this.failWith(task, task.rowErrors!.get(0)!);
      return;
    }
    const members = task.job.data.members ?? [];
    const failedMembers = task.memberErrors;
    let outputs: RawTensor[];
    try {
      // A failed line of one row never ran in a run that succeeded: only lines of several rows leave rows to drop.
      const parts =
        failedMembers ? withoutRows(task.parts, memberRanges(members, failedMembers))
        : failedLines && !task.lines!.oneRowEach ? withoutRows(task.parts, failedLines)
        : task.parts;
      outputs = failedMembers?.size === members.length ? [] : selectOutputs(joinParts(parts), task.job.data.outputs, this.model.labels);
    } catch (err) {
      this.failWith(task, { type: 'inference-failed', message: (err as Error).message });
      return;
    }
    try {
      const s = await this.endings.succeeded(task.job, outputs, (kept) => this.resultOf(task, kept), task.rowErrors);
      if (s.ok) task.resolve(s.result);
      else task.reject(s.error);
    } catch (err) {
      this.fail(task, err as Error); // not recorded: BullMQ retries the job
    }
  }

  /** The result of a chunk that settles as its batch recorded it, without running here (JobEndings.inputGone): no outputs (they are with its batch), no runs. */
  private notRunHere(job: Job<InferenceJobData>): InferenceJobResult {
    return {
      v: 1, outputs: [], ...started(job), completed: clusterNow(),
      metrics: { queue_ms: queueMs(job), batch_wait_ms: 0, inference_ms: 0, batch_size: 0, runs: 0, worker: this.metrics.workerId },
    };
  }

  private resultOf(task: Task, outputs: EncodedTensor[]): InferenceJobResult {
    const job = task.job;
    return {
      v: 1,
      outputs,
      ...(task.memberErrors ? { memberErrors: Object.fromEntries(task.memberErrors) } : {}),
      ...started(job),
      completed: clusterNow(),
      // only where the API's response cache asks for it: 129 characters less in every other result
      ...(this.model.config.response_cache ? { ran: modelDigests(this.model, this.version) } : {}),
      metrics: {
        queue_ms: queueMs(job),
        batch_wait_ms: round((task.dispatchedAt ?? task.receivedAt) - task.receivedAt),
        inference_ms: round(task.inferenceMs),
        batch_size: task.maxRunRows,
        runs: task.runs,
        worker: this.metrics.workerId,
      },
    };
  }
}



const round = (ms: number) => Math.round(ms * 1000) / 1000;
/** A result's `started`: when this worker took it (`hold`, on the cluster's clock). */
const started = (job: Job<InferenceJobData>) => (job.processedOn ? { started: job.processedOn } : {});
/** A result's `queue_ms`: from its creation until a worker took it. */
const queueMs = (job: Job<InferenceJobData>) => Math.max(0, (job.processedOn ?? job.timestamp) - job.timestamp);
