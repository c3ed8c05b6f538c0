import { describe, expect, it } from 'vitest';
import type { ChunkOutcome, InferenceJobResult, Logger } from '@maas/shared';
import type { JobAnnouncer } from '../job-announcer.js';
import { createWorkerMetrics } from '../metrics.js';
import type { ChunkLedger } from './chunks.js';
import { JobEndings } from './job-endings.js';

const log = { warn: () => {}, error: () => {}, info: () => {}, debug: () => {} } as unknown as Logger;
const result = { v: 1, outputs: [], metrics: { queue_ms: 1, batch_wait_ms: 0, inference_ms: 1, batch_size: 1, runs: 1, worker: 'w' } } as InferenceJobResult;
const batch = { id: 'batch_1', chunk: 0, lines: 2, retentionSeconds: 60 };

/** A chunk job (or, `chunk` false, a plain job) as BullMQ hands it over. */
const jobOf = (chunk = true) => ({
  id: chunk ? 'batch_1-c0' : 'job_1', timestamp: Date.now() - 10, opts: {}, processedOn: Date.now(),
  data: { v: 1, model: 'mlp', version: 1, tenant: 't', rows: 2, inputs: [], outputs: [], priority: 1000, payload: 'maas:in', ...(chunk ? { batch } : {}) },
}) as never;

/** JobEndings over fakes: `first` says whether each chunk record is its chunk's first; `recorded`, what a rerun finds. */
function endings(first: boolean, recorded?: ChunkOutcome) {
  const metrics = createWorkerMetrics('w');
  const chunks = {
    succeeded: async () => first, failed: async () => first, canceled: async () => first,
    recorded: async () => recorded, droppedBatches: async () => new Set<string>(),
  } as unknown as ChunkLedger;
  const redis = { unlink: async () => 1 } as never;
  const announcer = { announce: () => {} } as unknown as JobAnnouncer;
  const e = new JobEndings({ queueName: '{infer-mlp-v1}', labels: { model: 'mlp', version: '1' }, redis, metrics, announcer, log, chunks });
  const counted = async () => Object.fromEntries((await metrics.jobs.get()).values.map((v) => [v.labels.outcome, v.value]));
  return { e, counted };
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

  it('a job that is no chunk is counted once BullMQ has stored it, as before', async () => {
    const { e, counted } = endings(true);
    const job = jobOf(false);
    await e.succeeded(job, [], () => result);
    expect(await counted()).toEqual({});
    e.stored(job, result);
    expect(await counted()).toEqual({ succeeded: 1 });
  });
});
