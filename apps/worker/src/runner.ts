/**
 * ModelRunner: serves one model version. The only BullMQ code in the worker.
 *
 * BullMQ's open edition hands a processor one job at a time, so the Worker runs with a high
 * concurrency: it keeps fetching while earlier jobs wait in the Collector, and each processor
 * call just parks its job there and awaits the job's result. The Collector cuts batches; this
 * module joins their rows, runs them on a session thread while it checks them for
 * cancellation (one Redis call per batch, in parallel with the run), hands each job its rows
 * back, and announces the endings (one PUBLISH per event-loop turn, see job-announcer.ts). Locks, stall recovery
 * and retries stay per job, as BullMQ made them: a worker killed mid-batch leaves its jobs
 * locked until live workers see its liveness beat missing and drop those locks (see
 * liveness/sweeper.ts), or the lock expires; then a stall check requeues them. A run lost with
 * its session thread (see inference/session-pool.ts) is retried the same way.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  createRedis, PIPELINING,
  canceledKey, chunkRows, decodeJobError, encodeJobError, fromEncoded, inferenceQueueName, PREFIX, toEncoded, unpackPayload,
  type InferenceJobData, type InferenceJobResult, type JobError, type Logger, type ModelInfo,
  type ModelVersion, type RawTensor,
} from '@maas/shared';
import { assembleFeeds, shapeKey, splitOutputs } from './batching/assemble.js';
import { Collector } from './batching/collector.js';
import { queueOrder, type QueuedJob } from './batching/queue-order.js';
import type { Slice } from './batching/cut.js';
import type { SessionPool } from './inference/session-pool.js';
import { SessionLostError } from './inference/instance-health.js';
import type { WorkerMetrics } from './metrics.js';
import { joinParts, selectOutputs, type OutputPart } from './postprocess/outputs.js';
import { JobAnnouncer, settledRecord } from './job-announcer.js';
import type { JobEnd, JobObserver } from './webhooks/job-events.js';
import type { BatchRecorder } from './batches/recorder.js';
import type { StatsRecorder } from './stats/recorder.js';

export interface RunnerSettings {
  workerId: string;
  redisUrl: string;
  lockMs: number;
  stalledIntervalMs: number;
  /** jobs fetched and held at once; 0 = derived from the model's batch size */
  concurrency: number;
}

/** A job held by this worker until all its rows have run. */
interface Task {
  job: Job<InferenceJobData>;
  inputs: RawTensor[];
  rows: number;
  receivedAt: number;
  dispatchedAt?: number;
  done: number;
  parts: OutputPart[];
  inferenceMs: number;
  maxBatch: number;
  runs: number;
  failed: boolean;
  resolve: (r: InferenceJobResult) => void;
  reject: (e: Error) => void;
}

/** Jobs fetched and held at once: enough to fill two batches per instance while one runs. */
export function defaultConcurrency(version: ModelVersion, instances: number): number {
  const perRun = Math.max(1, version.maxBatchSize);
  return Math.min(1024, Math.max(4, 2 * perRun * instances));
}

/**
 * Rows a worker holds at most before it stops fetching: a few batches' worth, and two batch-file
 * chunks (one running, the next fetched). Without it a worker would take up to `concurrency`
 * jobs of any size, e.g. every chunk of a big batch, holding their inputs in memory and
 * leaving nothing for workers started later.
 */
export function rowBudget(version: ModelVersion, instances: number): number {
  return Math.max(4 * Math.max(1, version.maxBatchSize) * instances, 2 * chunkRows(version));
}

export class ModelRunner {
  private readonly worker: Worker<InferenceJobData, InferenceJobResult>;
  private readonly collector: Collector<Task>;
  /** the BullMQ queue of this version */
  readonly queueName: string;
  private readonly labels: { model: string; version: string };
  private readonly connection: Redis;
  private recorder: BatchRecorder | undefined;
  private stats: StatsRecorder | undefined;
  private readonly maxConcurrency: number;
  private readonly rowBudget: number;
  private readonly observers: JobObserver[] = [];
  private readonly announcer: JobAnnouncer;
  private heldJobs = 0;
  private heldRows = 0;
  /** moving average of rows per job, to turn the row budget into a number of jobs to fetch */
  private rowsPerJob: number;

  constructor(
    private readonly model: ModelInfo,
    private readonly version: ModelVersion,
    private readonly pool: SessionPool,
    private readonly redis: Redis,
    private readonly metrics: WorkerMetrics,
    private readonly log: Logger,
    settings: RunnerSettings,
  ) {
    this.queueName = inferenceQueueName(version.model, version.version);
    this.labels = { model: version.model, version: String(version.version) };
    this.collector = new Collector<Task>({
      maxRows: version.maxBatchSize,
      maxDelayMs: model.config.max_queue_delay_ms,
      preferred: model.config.preferred_batch_sizes,
      concurrency: pool.size,
      run: (slices) => this.runBatch(slices),
      order: (a, b) => queueOrder(queued(a), queued(b)),
    });
    // Auto-pipelined: the completions of one micro-batch (one script per job in BullMQ's open
    // edition) leave in one write, and the announcement rides behind them.
    this.connection = createRedis(settings.redisUrl, { ...PIPELINING, maxRetriesPerRequest: null, connectionName: `${settings.workerId}:${this.tag}` });
    this.connection.on('error', () => {}); // BullMQ reports connection trouble through the worker's 'error' event
    this.maxConcurrency = settings.concurrency || defaultConcurrency(version, pool.size);
    this.rowBudget = rowBudget(version, pool.size);
    // Until jobs are seen, assume they are as large as a batch-file chunk: a worker starting in
    // front of a queue of big chunks must not fetch all of them in its first breath.
    this.rowsPerJob = chunkRows(version);
    this.worker = new Worker<InferenceJobData, InferenceJobResult>(this.queueName, (job) => this.hold(job), {
      connection: this.connection,
      prefix: PREFIX,
      concurrency: this.allowedJobs(),
      lockDuration: settings.lockMs,
      stalledInterval: settings.stalledIntervalMs,
      maxStalledCount: 2,
      autorun: false,
      name: settings.workerId,
    });
    // On BullMQ's own connection: an ending is announced in the turn the runner settles the
    // job, and Redis runs one connection's commands in order, so the PUBLISH lands right after
    // BullMQ's completion script, without waiting for its reply (one round trip saved).
    this.announcer = new JobAnnouncer(this.connection, log);
    // Final failures the runner never saw (stalled too often, expired) are announced here.
    this.worker.on('failed', (job) => job && job.finishedOn && this.announcer.announce({ id: job.id!, event: 'failed' }));
    // A chunk that failed for good without passing through failWith (retries exhausted, or
    // stalled too often) still needs its outcome recorded, or its batch would never complete.
    // (BullMQ 6 fails a job over its stall limit when a worker next fetches it, through this
    // same 'failed' event: e2e "a job whose workers keep dying".)
    // Recording twice is harmless: the first outcome of a chunk wins.
    this.worker.on('failed', (job) => {
      const chunk = job?.data.batch;
      if (chunk && job.finishedOn && this.recorder) {
        this.recorder.failed(chunk, decodeJobError(job.failedReason)).then(() => this.releasePayload(job)).catch((err: unknown) => this.log.error({ err, jobId: job.id }, 'could not record a failed chunk'));
      }
    });
    this.worker.on('error', (err) => this.log.error({ err }, 'worker error'));
    this.worker.on('stalled', (jobId) => this.log.warn({ jobId }, 'job stalled (its worker stopped); requeued'));
  }

  get tag(): string {
    return `${this.version.model}:${this.version.version}`;
  }

  get provider(): string {
    return this.pool.provider;
  }

  /** The session pool of this version (whether a session serves it, see SessionPool.serving). */
  get sessions(): SessionPool {
    return this.pool;
  }

  /** Reports each job's lifecycle (active, completed, failed) to `o`, e.g. for webhooks. */
  observe(o: JobObserver): void {
    this.observers.push(o);
    this.worker.on('active', (job) => o.active(job));
    this.worker.on('failed', (job, err) => job && o.failed(job, err));
  }

  /** Lets observers queue what must not be lost (the job.completed event) before `settle`. */
  private ending(task: Task, end: JobEnd, settle: () => void): void {
    void Promise.all(this.observers.map((o) => o.ending(task.job, end))).then(settle, settle);
  }

  /** Records the outcome of batch chunks with their batch (see batches/recorder.ts). */
  recordBatchesWith(recorder: BatchRecorder): void {
    this.recorder = recorder;
  }

  /** Counts each ONNX run in the Triton statistics (see stats/recorder.ts); jobs are counted as an observer. */
  recordStatsWith(stats: StatsRecorder): void {
    this.stats = stats;
    this.observe(stats);
  }

  start(): void {
    void this.worker.run().catch((err: unknown) => this.log.error({ err }, 'worker loop ended'));
  }

  /** Stop fetching; run what is held now without waiting for batches to fill; then free the sessions. */
  async close(): Promise<void> {
    const closing = this.worker.close();
    await this.collector.drain();
    await closing;
    await this.pool.close();
    this.connection.disconnect();
  }

  /**
   * Counts what this worker holds and sets BullMQ's concurrency (read before each fetch) to
   * the jobs held plus as many as the rest of the row budget fits: many single-row jobs, or
   * a few batch chunks.
   */
  private async hold(job: Job<InferenceJobData>): Promise<InferenceJobResult> {
    const rows = job.data.rows;
    this.heldJobs++;
    this.heldRows += rows;
    this.rowsPerJob = 0.7 * this.rowsPerJob + 0.3 * rows;
    this.throttle();
    try {
      return await this.process(job);
    } finally {
      this.heldJobs--;
      this.heldRows -= rows;
      this.throttle();
    }
  }

  private allowedJobs(): number {
    const room = Math.floor(Math.max(0, this.rowBudget - this.heldRows) / Math.max(1, this.rowsPerJob));
    return Math.min(this.maxConcurrency, Math.max(1, this.heldJobs + room));
  }

  private throttle(): void {
    this.worker.concurrency = this.allowedJobs();
  }

  private async process(job: Job<InferenceJobData>): Promise<InferenceJobResult> {
    const data = job.data;
    if (data.deadline !== undefined && Date.now() > data.deadline) {
      this.metrics.jobs.inc({ ...this.labels, outcome: 'expired' });
      throw new UnrecoverableError(encodeJobError({ type: 'expired', message: `timeout_ms elapsed before the job could run` }));
    }
    let inputs: RawTensor[];
    let bytes: Buffer | null = null;
    if (data.payload) {
      bytes = await this.redis.getBuffer(data.payload);
      if (!bytes) throw new UnrecoverableError(encodeJobError({ type: 'canceled', message: 'the batch was canceled or is gone: its input is no longer stored' }));
    }
    try {
      inputs = bytes ? unpackPayload(data.inputs, bytes) : data.inputs.map(fromEncoded);
    } catch (err) {
      // The API only queues checked tensors: a payload that does not decode will never run.
      throw new UnrecoverableError(encodeJobError({ type: 'internal', message: `unreadable job payload: ${(err as Error).message}` }));
    }
    return new Promise((resolve, reject) => {
      const task: Task = {
        job, inputs, rows: data.rows, receivedAt: performance.now(), done: 0, parts: [], inferenceMs: 0,
        maxBatch: 0, runs: 0, failed: false, resolve, reject,
      };
      this.collector.add(task, task.rows, shapeKey(inputs));
    });
  }

  /** Removes a job's raw input bytes once its outcome is recorded (a crash before leaves them to their TTL). */
  private releasePayload(job: Job<InferenceJobData>): void {
    const key = job.data.payload;
    if (key) this.redis.unlink(key).catch((err: unknown) => this.log.warn({ err, jobId: job.id }, 'could not remove a job payload'));
  }

  /** A failure BullMQ may retry (Redis trouble, a lost session thread): nothing is recorded yet. */
  private fail(task: Task, err: Error): void {
    if (task.failed) return;
    task.failed = true;
    task.reject(err);
  }

  /** A final failure: recorded with its batch (for a chunk), then the job fails without retry. */
  private failWith(task: Task, error: JobError, outcome: 'failed' | 'canceled' = 'failed'): void {
    if (task.failed) return;
    task.failed = true;
    this.metrics.jobs.inc({ ...this.labels, outcome });
    const chunk = task.job.data.batch;
    const recorded = chunk && this.recorder
      ? outcome === 'canceled' ? this.recorder.canceled(chunk) : this.recorder.failed(chunk, error)
      : Promise.resolve();
    const err = new UnrecoverableError(encodeJobError(error));
    recorded.then(
      () => {
        this.releasePayload(task.job);
        this.ending(task, { state: 'failed', error }, () => {
          task.reject(err);
          this.announcer.announce({ id: task.job.id!, event: 'failed' });
        });
      },
      (e: unknown) => task.reject(e as Error), // not recorded: let BullMQ retry the chunk
    );
  }

  /**
   * Fails the jobs of `tasks` canceled (or whose batch was canceled) since they were fetched.
   * One Redis round trip for the whole batch, made while the batch computes: a canceled job's
   * rows may still run, but its outputs are dropped and it ends as canceled.
   */
  private async dropCanceled(tasks: Task[]): Promise<void> {
    const batchIds = [...new Set(tasks.flatMap((t) => (t.job.data.batch ? [t.job.data.batch.id] : [])))];
    const [scores, droppedBatches] = await Promise.all([
      this.redis.zmscore(canceledKey(this.queueName), ...tasks.map((t) => t.job.id!)),
      this.recorder?.droppedBatches(batchIds) ?? new Set<string>(),
    ]);
    tasks.forEach((t, i) => {
      const batch = t.job.data.batch;
      if (scores[i] !== null || (batch && droppedBatches.has(batch.id))) {
        this.failWith(t, { type: 'canceled', message: batch ? 'the batch was canceled' : 'canceled by request' }, 'canceled');
      }
    });
  }

  private async runBatch(cut: Slice<Task>[]): Promise<void> {
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
    const [checked, ran] = await Promise.allSettled([
      this.dropCanceled([...new Set(packed.map((s) => s.job))]),
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
      this.log.error({ err, rows }, 'inference failed');
      for (const s of packed) this.failWith(s.job, { type: 'inference-failed', message: err.message });
      return;
    }
    const result = ran.value;
    const jobsInRun = new Set(packed.map((s) => s.job)).size;
    this.metrics.batchRows.observe(this.labels, rows);
    this.metrics.batchJobs.observe(this.labels, jobsInRun);
    this.metrics.inferenceSeconds.observe(this.labels, result.ms / 1000);
    this.stats?.run(this.version.model, this.version.version, rows, result.ms);
    const shares = splitOutputs(packed, result.outputs);
    packed.forEach((s, i) => {
      const task = s.job;
      if (task.failed) return;
      task.parts.push({ start: s.start, outputs: shares[i]! });
      task.done += s.end - s.start;
      task.inferenceMs += result.ms;
      task.maxBatch = Math.max(task.maxBatch, rows);
      task.runs++;
      if (task.done === task.rows) void this.finish(task);
    });
  }

  private async finish(task: Task): Promise<void> {
    let outputs: RawTensor[];
    try {
      outputs = selectOutputs(joinParts(task.parts), task.job.data.outputs, this.model.labels);
    } catch (err) {
      this.failWith(task, { type: 'inference-failed', message: (err as Error).message });
      return;
    }
    const chunk = task.job.data.batch;
    if (chunk && this.recorder) {
      try {
        // A chunk's outputs live with its batch; the job's own return value stays small.
        await this.recorder.succeeded(chunk, outputs);
        this.releasePayload(task.job);
        outputs = [];
      } catch (err) {
        this.fail(task, err as Error);
        return;
      }
    }
    const queueMs = Math.max(0, (task.job.processedOn ?? task.job.timestamp) - task.job.timestamp);
    const result: InferenceJobResult = {
      v: 1,
      outputs: outputs.map(toEncoded),
      metrics: {
        queue_ms: queueMs,
        batch_wait_ms: round((task.dispatchedAt ?? task.receivedAt) - task.receivedAt),
        inference_ms: round(task.inferenceMs),
        batch_size: task.maxBatch,
        runs: task.runs,
        worker: this.metrics.workerId,
      },
    };
    this.metrics.jobs.inc({ ...this.labels, outcome: 'succeeded' });
    this.metrics.jobSeconds.observe(this.labels, (Date.now() - task.job.timestamp) / 1000);
    this.ending(task, { state: 'completed', result }, () => {
      task.resolve(result);
      const settled = settledRecord(task.job, result);
      this.announcer.announce({ id: task.job.id!, event: 'completed', ...(settled ? { tenant: task.job.data.tenant, settled } : {}) });
    });
  }
}

const queued = (t: Task): QueuedJob => ({ priority: t.job.opts.priority, timestamp: t.job.timestamp, batch: t.job.data.batch });

const round = (ms: number) => Math.round(ms * 1000) / 1000;
