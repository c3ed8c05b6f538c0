import { describe, expect, it } from 'vitest';
import { encodeJobError, type ChunkOutcome, type InferenceJobResult, type JobError, type Logger, type Recorded } from '@maas/shared';
import type { JobAnnouncer } from '../job-announcer.js';
import { createWorkerMetrics } from '../metrics.js';
import type { StatsRecorder } from '../stats/recorder.js';
import type { ChunkLedger } from './chunks.js';
import type { JobLedger } from './jobs.js';
import { INPUT_LOST, JobEndings } from './job-endings.js';

const log = { warn: () => {}, error: () => {}, info: () => {}, debug: () => {} } as unknown as Logger;
const result = { v: 1, outputs: [], metrics: { queue_ms: 1, batch_wait_ms: 0, inference_ms: 1, batch_size: 1, runs: 1, worker: 'w' } } as InferenceJobResult;
const batch = { id: 'batch_1', chunk: 0, lines: 2, retentionSeconds: 60 };

/** A chunk job (or, `chunk` false, a plain job) as BullMQ hands it over. */
const jobOf = (chunk = true) => ({
  id: chunk ? 'batch_1-c0' : 'job_1', timestamp: Date.now() - 10, opts: {}, processedOn: Date.now(),
  data: { v: 1, model: 'mlp', version: 1, tenant: 't', rows: 2, inputs: [], outputs: [], priority: 1000, payload: 'maas:in', ...(chunk ? { batch } : {}) },
}) as never;

/** JobEndings over fakes: `first` says whether each chunk record is its chunk's first; `recorded`, what a rerun finds. */
function endings(first: boolean, recorded?: ChunkOutcome, dropped: string[] = []) {
  const metrics = createWorkerMetrics('w');
  const failures: JobError[] = [];
  const chunks = {
    succeeded: async () => first, failed: async (_c: unknown, error: JobError) => (failures.push(error), first), canceled: async () => (failures.push({ type: 'canceled', message: '' }), first),
    recorded: async () => recorded, droppedBatches: async () => new Set<string>(dropped),
  } as unknown as ChunkLedger;
  const redis = { unlink: async () => 1 } as never;
  const announcer = { announce: () => {} } as unknown as JobAnnouncer;
  const e = new JobEndings({ queueName: '{infer-mlp-v1}', labels: { model: 'mlp', version: '1' }, redis, metrics, announcer, log, chunks });
  const counted = async () => Object.fromEntries((await metrics.jobs.get()).values.map((v) => [v.labels.outcome, v.value]));
  return { e, counted, failures };
}

describe('maas_jobs_processed_total counts a batch chunk once, where its outcome is recorded first', () => {
  it('a run whose record is the first counts the chunk once, at the record, not again when BullMQ stores it', async () => {
    const { e, counted } = endings(true);
    const job = jobOf();
    const s = await e.succeeded(job, [], () => result);
    expect(s.ok).toBe(true);
    e.stored(job, result);
    expect(await counted()).toEqual({ succeeded: 1 });
  });

  it('a rerun settling as recorded (Redis kept the record, lost the completion: JobEndings.inputGone) counts nothing', async () => {
    const { e, counted } = endings(false, { kind: 's' } as ChunkOutcome);
    const job = jobOf();
    const s = await e.inputGone(job, result);
    expect(s.ok).toBe(true);
    e.stored(job, result);
    expect(await counted()).toEqual({});
  });

  it('a rerun whose outcome comes second, success or failure, counts nothing; a first failure counts once', async () => {
    const second = endings(false);
    await second.e.succeeded(jobOf(), [], () => result);
    second.e.stored(jobOf(), result);
    expect((await second.e.failed(jobOf(), { type: 'inference-failed', message: 'x' })).ok).toBe(false);
    expect(await second.counted()).toEqual({});
    const first = endings(true);
    expect((await first.e.failed(jobOf(), { type: 'inference-failed', message: 'x' })).ok).toBe(false);
    expect(await first.counted()).toEqual({ failed: 1 });
  });

  it("a chunk whose input is gone fails its lines as canceled when its batch was, as lost (an eviction) when it runs on", async () => {
    const running = endings(true);
    expect((await running.e.inputGone(jobOf(), result)).ok).toBe(false);
    expect(running.failures).toEqual([{ type: 'internal', message: INPUT_LOST }]);
    expect(await running.counted()).toEqual({ failed: 1 });
    const canceled = endings(true, undefined, ['batch_1']);
    expect((await canceled.e.inputGone(jobOf(), result)).ok).toBe(false);
    expect(canceled.failures.map((f) => f.type)).toEqual(['canceled']);
    expect(await canceled.counted()).toEqual({ canceled: 1 });
  });

  it('a job that is no chunk is counted once BullMQ has stored it, as before', async () => {
    const { e, counted } = endings(true);
    const job = jobOf(false);
    await e.succeeded(job, [], () => result);
    expect(await counted()).toEqual({});
    e.stored(job, result);
    expect(await counted()).toEqual({ succeeded: 1 });
  });
});

/** JobEndings over a fake JobLedger (a webhook job's endings) that answers `ledger` to every record, and what it counted, announced and told the Triton statistics. */
function withLedger(ledger: Recorded) {
  const metrics = createWorkerMetrics('w');
  const order: string[] = [];
  const jobs = { end: async () => (order.push('recorded'), ledger) } as unknown as JobLedger;
  const announcer = { announce: (m: { event: string }) => order.push(`announced ${m.event}`) } as unknown as JobAnnouncer;
  const stats = { ending: (_job: unknown, end: { state: string }) => order.push(`stats ${end.state}`) } as unknown as StatsRecorder;
  const redis = { unlink: async () => (order.push('payload released'), 1) } as never;
  const e = new JobEndings({ queueName: '{infer-mlp-v1}', labels: { model: 'mlp', version: '1' }, redis, metrics, announcer, log, jobs, stats });
  const counted = async () => Object.fromEntries((await metrics.jobs.get()).values.map((v) => [v.labels.outcome, v.value]));
  const failures = async () => Object.fromEntries((await metrics.failures.get()).values.map((v) => [v.labels.type, v.value]));
  const failedByBull = (reason: JobError) => ({ ...(jobOf(false) as object), data: { ...(jobOf(false) as { data: object }).data, webhook: { url: 'http://h/' } }, failedReason: encodeJobError(reason) }) as never;
  return { e, counted, failures, order, failedByBull };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('a final failure is counted and announced as the ledger settles it, after it is recorded, however the job failed', () => {
  const lost: JobError = { type: 'worker-lost', message: 'stalled' };
  const completion = { won: false, ending: { state: 'completed' }, result: JSON.stringify(result) } as Recorded;

  it("failedElsewhere (BullMQ's stall limit): a completion recorded before its run's worker died counts as that success, not a failure", async () => {
    const { e, counted, order, failedByBull } = withLedger(completion);
    e.failedElsewhere(failedByBull(lost));
    await until(() => order.includes('announced failed'));
    expect(await counted()).toEqual({ succeeded: 1 });
    expect(order).toEqual(['recorded', 'payload released', 'stats completed', 'announced failed']);
  });

  it('failedElsewhere: a failure recorded first counts as one, announced after it is recorded', async () => {
    const { e, counted, order, failedByBull } = withLedger({ won: true });
    e.failedElsewhere(failedByBull(lost));
    await until(() => order.includes('announced failed'));
    expect(await counted()).toEqual({ failed: 1 });
    expect(order.filter((o) => o !== 'payload released')).toEqual(['recorded', 'stats failed', 'announced failed']);
  });

  it('maas_job_failures_total counts a failure by its error type (the service\'s apart from the client\'s), and no cancel, expiry or success', async () => {
    const own = withLedger({ won: true });
    await own.e.failed(jobOf(false), { type: 'inference-failed', message: 'x' });
    await own.e.failed(jobOf(false), { type: 'invalid-input', message: 'y' });
    await own.e.failed(jobOf(false), { type: 'invalid-input', message: 'z' });
    expect(await own.failures()).toEqual({ 'inference-failed': 1, 'invalid-input': 2 });
    const bull = withLedger({ won: true });
    bull.e.failedElsewhere(bull.failedByBull(lost));
    await until(() => bull.order.includes('announced failed'));
    expect(await bull.failures()).toEqual({ 'worker-lost': 1 });
    const canceled = withLedger({ won: false, ending: { state: 'canceled' } } as Recorded);
    await canceled.e.failed(jobOf(false), { type: 'inference-failed', message: 'x' });
    expect(await canceled.failures()).toEqual({});
    const laterSuccess = withLedger(completion);
    laterSuccess.e.failedElsewhere(laterSuccess.failedByBull(lost));
    await until(() => laterSuccess.order.includes('announced failed'));
    expect(await laterSuccess.failures()).toEqual({});
  });

  it("failed (the runner's own): a cancel recorded first counts as a cancel", async () => {
    const { e, counted } = withLedger({ won: false, ending: { state: 'canceled' } } as Recorded);
    const s = await e.failed(jobOf(false), { type: 'inference-failed', message: 'x' });
    expect(s.ok).toBe(false);
    expect(await counted()).toEqual({ canceled: 1 });
  });

  it("a job the API's deadline sweep expired first counts as expired, not failed, whoever's ending is recorded", async () => {
    const expired: JobError = { type: 'expired', message: 'it waited in the queue past its timeout_ms' };
    const swept = withLedger({ won: false, ending: { state: 'failed', error: expired } } as Recorded);
    expect((await swept.e.failed(jobOf(false), { type: 'inference-failed', message: 'x' })).ok).toBe(false);
    expect(await swept.counted()).toEqual({ expired: 1 });
    const ranLate = withLedger({ won: false, ending: { state: 'failed', error: expired } } as Recorded);
    expect((await ranLate.e.succeeded(jobOf(false), [], () => result)).ok).toBe(false);
    expect(await ranLate.counted()).toEqual({ expired: 1 });
    const atFetch = withLedger({ won: true });
    atFetch.e.failedElsewhere(atFetch.failedByBull(expired));
    await until(() => atFetch.order.includes('announced failed'));
    expect(await atFetch.counted()).toEqual({ expired: 1 });
  });

  it('recordMissed records and announces, and counts nothing: the worker that saw the failure counts it (each runner looks at every failed job)', async () => {
    for (const ledger of [{ won: true }, { won: false, ending: { state: 'failed', error: lost } }] as Recorded[]) {
      const look = withLedger(ledger);
      await look.e.recordMissed(look.failedByBull(lost));
      expect(await look.counted()).toEqual({});
      expect(look.order.filter((o) => o.startsWith('stats'))).toEqual([]);
      expect(look.order).toEqual(expect.arrayContaining(['recorded', 'announced failed']));
    }
  });
});

describe("a timed job's deadline entry goes with its ending, however it ended", () => {
  /** JobEndings whose ledger answers `ledger`, and the deadline entries it removed. */
  function timed(ledger: Recorded) {
    const removed: string[] = [];
    const redis = { unlink: async () => 1, zrem: async (key: string, id: string) => (removed.push(`${key} ${id}`), 1) } as never;
    const jobs = { end: async () => ledger } as unknown as JobLedger;
    const announcer = { announce: () => {} } as unknown as JobAnnouncer;
    const e = new JobEndings({ queueName: '{infer-mlp-v1}', labels: { model: 'mlp', version: '1' }, redis, metrics: createWorkerMetrics('w'), announcer, log, jobs });
    const job = (reason?: JobError) => {
      const plain = jobOf(false) as { data: object };
      return { ...plain, data: { ...plain.data, deadline: Date.now() + 60_000 }, ...(reason ? { failedReason: encodeJobError(reason) } : {}) } as never;
    };
    return { e, removed, job };
  }
  const entry = 'maas:{infer-mlp-v1}:deadlines job_1';
  const canceled = { won: false, ending: { state: 'canceled' } } as Recorded;
  const lost: JobError = { type: 'worker-lost', message: 'stalled' };

  it('a success once BullMQ has stored it; a run whose cancel was recorded first at once', async () => {
    const ran = timed({ won: true });
    await ran.e.succeeded(ran.job(), [], () => result);
    expect(ran.removed).toEqual([]);
    ran.e.stored(ran.job(), result);
    expect(ran.removed).toEqual([entry]);
    const canceledWhileRunning = timed(canceled);
    expect((await canceledWhileRunning.e.succeeded(canceledWhileRunning.job(), [], () => result)).ok).toBe(false);
    expect(canceledWhileRunning.removed).toEqual([entry]);
  });

  it("a failure: the runner's own, BullMQ's (failedElsewhere), one recorded again (recordMissed)", async () => {
    const own = timed({ won: true });
    await own.e.failed(own.job(), { type: 'inference-failed', message: 'x' });
    expect(own.removed).toEqual([entry]);
    const bull = timed({ won: true });
    bull.e.failedElsewhere(bull.job(lost));
    await until(() => bull.removed.length > 0);
    expect(bull.removed).toEqual([entry]);
    const missed = timed({ won: true });
    await missed.e.recordMissed(missed.job(lost));
    expect(missed.removed).toEqual([entry]);
  });
});

describe('maas_jobs_processed_total and maas_job_seconds count the requests a packed job carries', () => {
  /** A job the API packed: `members` (/v1/jobs) or only `requests` (v2 infer). */
  const packed = (requests: number, members: boolean, reason?: JobError) => {
    const plain = jobOf(false) as { data: object };
    return {
      ...plain,
      data: { ...plain.data, requests, ...(members ? { members: Array.from({ length: requests }, (_, i) => ({ id: `job_m${i}`, rows: 1 })) } : {}) },
      ...(reason ? { failedReason: encodeJobError(reason) } : {}),
    } as never;
  };
  const seconds = async (l: ReturnType<typeof withLedger>) => (await l.e['d'].metrics.jobSeconds.get()).values.find((v) => v.metricName === 'maas_job_seconds_count')?.value;

  it('a success counts each request, and its latency once for each; members that failed alone count as failed', async () => {
    const v2 = withLedger({ won: true });
    v2.e.stored(packed(40, false), result);
    expect(await v2.counted()).toEqual({ succeeded: 40 });
    expect(await seconds(v2)).toBe(40);
    const kinds = (await v2.e['d'].metrics.jobSeconds.get()).values.filter((v) => v.metricName === 'maas_job_seconds_count').map((v) => v.labels['kind']);
    expect(kinds).toEqual(['request']); // a batch file's chunks apart (kind="batch"): they never move the requests' quantiles
    const members = withLedger({ won: true });
    members.e.stored(packed(5, true), { ...result, memberErrors: { job_m1: { type: 'inference-failed', message: 'x' }, job_m3: { type: 'expired', message: 'y' } } } as InferenceJobResult);
    expect(await members.counted()).toEqual({ succeeded: 3, failed: 1, expired: 1 });
    expect(await members.failures()).toEqual({ 'inference-failed': 1 });
  });

  it("a failure counts each member; a packed v2 job whose run failed counts none (each request runs again alone, and counts there)", async () => {
    const members = withLedger({ won: true });
    await members.e.failed(packed(4, true), { type: 'inference-failed', message: 'x' });
    expect(await members.counted()).toEqual({ failed: 4 });
    expect(await members.failures()).toEqual({ 'inference-failed': 4 });
    const v2 = withLedger({ won: true });
    await v2.e.failed(packed(4, false), { type: 'inference-failed', message: 'x' });
    expect(await v2.counted()).toEqual({});
    expect(await v2.failures()).toEqual({});
    const lost = withLedger({ won: true });
    lost.e.failedElsewhere(packed(3, false, { type: 'worker-lost', message: 'stalled' }));
    await until(() => lost.order.includes('announced failed'));
    expect(await lost.counted()).toEqual({ failed: 3 });
  });
});
