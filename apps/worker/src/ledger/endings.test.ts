import { describe, expect, it } from 'vitest';
import { completedEvent, endFromLedger, ledgerEnding, settledJob, startEvent, type EndingJob } from './endings.js';

const data = { v: 1, model: 'mlp', version: 1, tenant: 't', rows: 1, inputs: [], outputs: [], priority: 5, webhook: { url: 'https://example.com/hook', events: ['start', 'completed'] } };
const job = (extra: object = {}) => ({ id: 'job_1', data, timestamp: 1_000, processedOn: 2_000, queueName: '{infer-mlp-v1}', ...extra }) as unknown as EndingJob;
const result = { v: 1, outputs: [], metrics: { queue_ms: 1, batch_wait_ms: 0, inference_ms: 1, batch_size: 1, runs: 1, worker: 'w' } } as never;

describe('job.completed of an ending', () => {
  it('carries the job as it will be stored, bound to its queue so delivery waits for the settle', () => {
    const e = completedEvent(job(), { state: 'completed', result }, 5_000);
    expect(e).toMatchObject({ type: 'job.completed', subject: 'job_1', tenant: 't', settledIn: '{infer-mlp-v1}', occurredAt: 5_000, data: { status: 'succeeded', metrics: { worker: 'w' } } });
    expect((e!.data as { completed_at: string }).completed_at).toBe(new Date(5_000).toISOString());
    const canceled = completedEvent(job(), { state: 'failed', error: { type: 'canceled', message: 'x' } });
    expect(canceled!.data).toMatchObject({ status: 'canceled', error: { type: 'canceled' } });
  });

  it('is none without a webhook, or when its filter leaves completed out; start likewise', () => {
    expect(completedEvent(job({ data: { ...data, webhook: undefined } }), { state: 'completed', result })).toBeNull();
    const startOnly = job({ data: { ...data, webhook: { url: data.webhook.url, events: ['start'] } } });
    expect(completedEvent(startOnly, { state: 'completed', result })).toBeNull();
    expect(startEvent(startOnly)).toMatchObject({ type: 'job.start', data: { status: 'running' } });
  });

  it("a job.completed of outputs stored apart carries them, from the run's tensors", () => {
    const apart = { ...(result as object), payload: 'maas:{infer-mlp-v1}:job_1:result', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], at: [0, 8] }] } as never;
    const outputs = [{ name: 'y', datatype: 'FP32' as const, shape: [1, 2], data: new Uint8Array(new Float32Array([0.5, 2]).buffer) }];
    const e = completedEvent(job(), { state: 'completed', result: apart, outputs }, 5_000);
    expect((e!.data as { outputs: unknown }).outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [0.5, 2] }]);
    expect(settledJob(job(), { state: 'completed', result: apart, outputs }, 7)).toMatchObject({ returnvalue: apart, outputs });
  });

  it('settledJob keeps the outputs or the error the job will hold', () => {
    expect(settledJob(job(), { state: 'completed', result }, 7)).toMatchObject({ finishedOn: 7, returnvalue: result });
    expect(settledJob(job(), { state: 'failed', error: { type: 'internal', message: 'y' } }, 7).failedReason).toMatch(/"type":"internal"/);
  });
});

describe('the ledger decides', () => {
  it('a failure of type canceled is recorded as a cancel', () => {
    expect(ledgerEnding({ state: 'completed', result })).toEqual({ state: 'completed' });
    expect(ledgerEnding({ state: 'failed', error: { type: 'canceled', message: 'x' } })).toEqual({ state: 'canceled' });
    expect(ledgerEnding({ state: 'failed', error: { type: 'expired', message: 'x' } })).toEqual({ state: 'failed', error: { type: 'expired', message: 'x' } });
  });

  it('an ending recorded earlier wins over this run: a cancel makes a completed run end canceled', () => {
    const mine = { state: 'completed' as const, result };
    expect(endFromLedger({ state: 'canceled' }, mine)).toMatchObject({ state: 'failed', error: { type: 'canceled' } });
    expect(endFromLedger({ state: 'failed', error: { type: 'expired', message: 'e' } }, mine)).toEqual({ state: 'failed', error: { type: 'expired', message: 'e' } });
    expect(endFromLedger({ state: 'completed' }, mine)).toBe(mine); // recorded by an older worker, without its result
  });

  it('a completion recorded earlier settles with its recorded result, over this run\'s success or failure', () => {
    const first = { v: 1, outputs: [], completed: 1, metrics: { queue_ms: 1, batch_wait_ms: 0, inference_ms: 1, batch_size: 1, runs: 1, worker: 'wrk_first' } };
    const recorded = JSON.stringify(first);
    expect(endFromLedger({ state: 'completed' }, { state: 'completed', result }, recorded)).toEqual({ state: 'completed', result: first });
    expect(endFromLedger({ state: 'completed' }, { state: 'failed', error: { type: 'expired', message: 'late' } }, recorded)).toEqual({ state: 'completed', result: first });
  });
});
