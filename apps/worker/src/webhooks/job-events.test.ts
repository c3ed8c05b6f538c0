import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { encodeJobError, type Logger, type WebhookEmitter, type WebhookEventInput } from '@maas/shared';
import { isFinalFailure, JobWebhooks, settledJob } from './job-events.js';

describe('isFinalFailure', () => {
  it('is final for unrecoverable errors (model errors, cancel, expiry)', () => {
    expect(isFinalFailure({ attemptsMade: 1, opts: { attempts: 3 } }, new UnrecoverableError('canceled'))).toBe(true);
  });
  it('is final once the attempts are used up, not before', () => {
    expect(isFinalFailure({ attemptsMade: 1, opts: { attempts: 3 } }, new Error('redis'))).toBe(false);
    expect(isFinalFailure({ attemptsMade: 3, opts: { attempts: 3 } }, new Error('redis'))).toBe(true);
    expect(isFinalFailure({ attemptsMade: 1, opts: {} }, new Error('x'))).toBe(true);
  });
});

describe('JobWebhooks', () => {
  const log = { warn: () => {}, error: () => {}, info: () => {}, debug: () => {} } as unknown as Logger;
  const data = { v: 1, model: 'mlp', version: 1, tenant: 't', rows: 1, inputs: [], outputs: [], priority: 5, webhook: { url: 'https://example.com/hook', events: ['start', 'completed'] } };
  const job = (extra: object = {}) => ({ id: 'job_1', data, timestamp: 1_000, processedOn: 2_000, opts: { attempts: 1 }, attemptsMade: 1, queueName: 'q', ...extra }) as never;
  const result = { v: 1, outputs: [], metrics: { queue_ms: 1, batch_wait_ms: 0, inference_ms: 1, batch_size: 1, runs: 1, worker: 'w' } };

  /** An emitter whose emits stay pending until released. */
  function harness() {
    const emitted: WebhookEventInput[] = [];
    const release: (() => void)[] = [];
    const emitter = { emit: (e: WebhookEventInput) => new Promise<string>((resolve) => { emitted.push(e); release.push(() => resolve('msg')); }) };
    const redis = { zscore: async () => null };
    return { emitted, release, hooks: new JobWebhooks(emitter as unknown as WebhookEmitter, redis as never, log) };
  }

  it('ending resolves only once job.completed is queued, with the outputs the job will hold', async () => {
    const h = harness();
    let settled = false;
    const ending = h.hooks.ending(job(), { state: 'completed', result: result as never }).then(() => { settled = true; });
    await new Promise((r) => setImmediate(r));
    expect(h.emitted).toHaveLength(1);
    expect(h.emitted[0]).toMatchObject({ type: 'job.completed', subject: 'job_1', data: { status: 'succeeded', metrics: { worker: 'w' } } });
    expect((h.emitted[0]!.data as { completed_at: string | null }).completed_at).not.toBeNull();
    expect(settled).toBe(false);
    h.release[0]!();
    await ending;
    expect(settled).toBe(true);
  });

  it('a failure queued by ending is not queued again by BullMQ\'s failed event; others are', async () => {
    const h = harness();
    const ending = h.hooks.ending(job(), { state: 'failed', error: { type: 'canceled', message: 'x' } });
    await new Promise((r) => setImmediate(r));
    h.release[0]!();
    await ending;
    expect(h.emitted[0]!.data).toMatchObject({ status: 'canceled', error: { type: 'canceled' } });
    h.hooks.failed(job(), new UnrecoverableError('{"type":"canceled","message":"x"}'));
    await new Promise((r) => setImmediate(r));
    expect(h.emitted).toHaveLength(1);
    // Expired before it ran: only BullMQ knows.
    h.hooks.failed(job({ id: 'job_2', failedReason: encodeJobError({ type: 'expired', message: 'late' }) }), new UnrecoverableError('late'));
    await new Promise((r) => setImmediate(r));
    expect(h.emitted).toHaveLength(2);
    expect(h.emitted[1]).toMatchObject({ subject: 'job_2', data: { status: 'failed', error: { type: 'expired' } } });
  });

  it('jobs without a webhook queue nothing', async () => {
    const h = harness();
    await h.hooks.ending(job({ data: { ...data, webhook: undefined } }), { state: 'completed', result: result as never });
    expect(h.emitted).toHaveLength(0);
  });
});

describe('settledJob', () => {
  const base = { id: 'j', data: {} as never, timestamp: 1, processedOn: 2 };
  it('is the job as BullMQ will store it', () => {
    expect(settledJob({ ...base, returnvalue: null }, { state: 'completed', result: { v: 1 } as never }, 9)).toEqual({ ...base, finishedOn: 9, returnvalue: { v: 1 } });
    expect(settledJob(base, { state: 'failed', error: { type: 'inference-failed', message: 'm' } }, 9)).toEqual({ ...base, finishedOn: 9, failedReason: encodeJobError({ type: 'inference-failed', message: 'm' }) });
  });
});
