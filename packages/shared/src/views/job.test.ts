import { describe, expect, it } from 'vitest';
import { CANCELED_BEFORE_IT_RAN, CANCELED_BY_REQUEST, encodeJobError, EXPIRED_IN_QUEUE, type InferenceJobData } from '../payloads.js';
import { toEncoded } from '../tensors/raw.js';
import { jobStatus, toJobObject, toMemberObject, type StoredJob } from './job.js';

const data: InferenceJobData = {
  v: 1, model: 'mlp', version: 1, tenant: 't', rows: 1, inputs: [], outputs: [], priority: 100, metadata: { a: 1 },
};
const base: StoredJob = { id: 'job_1', data, timestamp: Date.UTC(2026, 0, 1) };

describe('jobStatus', () => {
  it('maps BullMQ states', () => {
    expect(jobStatus('waiting', undefined, null)).toBe('queued');
    expect(jobStatus('prioritized', undefined, null)).toBe('queued');
    expect(jobStatus('delayed', undefined, null)).toBe('queued');
    expect(jobStatus('active', undefined, null)).toBe('running');
    expect(jobStatus('completed', undefined, null)).toBe('succeeded');
    expect(jobStatus('failed', encodeJobError({ type: 'inference-failed', message: 'x' }), null)).toBe('failed');
    expect(jobStatus('failed', encodeJobError({ type: 'canceled', message: 'x' }), 5)).toBe('canceled');
  });
  it('a canceled job still queued is canceled; a running one runs on', () => {
    expect(jobStatus('waiting', undefined, 123)).toBe('canceled');
    expect(jobStatus('active', undefined, 123)).toBe('running');
    expect(jobStatus('completed', undefined, 123)).toBe('succeeded');
  });
});

describe('toJobObject', () => {
  it('a succeeded job carries outputs as JSON tensors and its metrics', () => {
    const out = toEncoded({ name: 'y', datatype: 'FP32', shape: [1, 2], data: new Uint8Array(new Float32Array([0.25, 0.75]).buffer) });
    const metrics = { queue_ms: 1, batch_wait_ms: 2, inference_ms: 3, batch_size: 4, runs: 1, worker: 'w' };
    const job = toJobObject({ ...base, processedOn: base.timestamp + 5, finishedOn: base.timestamp + 9, returnvalue: { v: 1, outputs: [out], metrics } }, 'completed', null);
    expect(job).toMatchObject({
      id: 'job_1', object: 'job', model: 'mlp', version: '1', status: 'succeeded', error: null, metrics, metadata: { a: 1 },
      created_at: '2026-01-01T00:00:00.000Z', started_at: '2026-01-01T00:00:00.005Z', completed_at: '2026-01-01T00:00:00.009Z',
    });
    expect(job.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [0.25, 0.75] }]);
  });

  it('never starts before its creation nor ends before its start (a worker whose host clock is behind stamped both before it)', () => {
    const metrics = { queue_ms: 0, batch_wait_ms: 0, inference_ms: 1, batch_size: 1, runs: 1, worker: 'w' };
    const returnvalue = { v: 1 as const, outputs: [], metrics, started: base.timestamp - 30_000, completed: base.timestamp - 29_990 };
    const job = toJobObject({ ...base, processedOn: base.timestamp - 30_000, finishedOn: base.timestamp - 29_990, returnvalue }, 'completed', null);
    expect(job).toMatchObject({ created_at: '2026-01-01T00:00:00.000Z', started_at: '2026-01-01T00:00:00.000Z', completed_at: '2026-01-01T00:00:00.000Z' });
  });

  it('never reads a start or an end later than it is read (a running or failed job stamped by a worker whose host clock is ahead)', () => {
    const readAt = base.timestamp + 1000;
    const running = toJobObject({ ...base, processedOn: base.timestamp + 7_200_000 }, 'active', null, readAt);
    expect(running.started_at).toBe(new Date(readAt).toISOString());
    const failed = toJobObject({ ...base, processedOn: base.timestamp + 7_200_000, finishedOn: base.timestamp + 7_200_005, failedReason: encodeJobError({ type: 'inference-failed', message: 'x' }) }, 'failed', null, readAt);
    expect([failed.started_at, failed.completed_at]).toEqual([new Date(readAt).toISOString(), new Date(readAt).toISOString()]);
  });

  it("a succeeded job's times are its result's own when it carries them (what BullMQ's completion event carries)", () => {
    const metrics = { queue_ms: 1, batch_wait_ms: 2, inference_ms: 3, batch_size: 4, runs: 1, worker: 'w' };
    const returnvalue = { v: 1 as const, outputs: [], metrics, started: base.timestamp + 6, completed: base.timestamp + 8 };
    const stored = toJobObject({ ...base, processedOn: base.timestamp + 6, finishedOn: base.timestamp + 9, returnvalue }, 'completed', null);
    expect(stored).toMatchObject({ started_at: '2026-01-01T00:00:00.006Z', completed_at: '2026-01-01T00:00:00.008Z' });
    // built from the result alone (no finishedOn of BullMQ's): the same object
    expect(toJobObject({ ...base, processedOn: returnvalue.started, finishedOn: returnvalue.completed, returnvalue }, 'completed', null)).toEqual(stored);
  });

  it('a failed job carries its typed error and no outputs', () => {
    const job = toJobObject({ ...base, processedOn: 1, finishedOn: 2, failedReason: encodeJobError({ type: 'expired', message: 'late' }) }, 'failed', null);
    expect(job).toMatchObject({ status: 'failed', outputs: null, metrics: null, error: { type: 'expired', message: 'late' } });
    // an expired job never ran: a worker fetched it only to find it past its deadline
    expect(job.started_at).toBeNull();
  });

  it('a queued job canceled by request: completed at the cancel time, never started', () => {
    const job = toJobObject(base, 'waiting', base.timestamp + 1000);
    expect(job).toMatchObject({ status: 'canceled', started_at: null, completed_at: '2026-01-01T00:00:01.000Z', error: { type: 'canceled' } });
  });

  it('a job queued past its timeout_ms reads as expired at its deadline, before and after a worker reaches it', () => {
    const timed = { ...base, data: { ...base.data, deadline: base.timestamp + 500 } };
    expect(toJobObject(timed, 'prioritized', null, base.timestamp + 400)).toMatchObject({ status: 'queued', completed_at: null });
    const overdue = toJobObject(timed, 'prioritized', null, base.timestamp + 600);
    expect(overdue).toMatchObject({ status: 'failed', started_at: null, completed_at: '2026-01-01T00:00:00.500Z', error: { type: 'expired' }, outputs: null });
    const fetched = { ...timed, processedOn: base.timestamp + 7000, finishedOn: base.timestamp + 7001, failedReason: encodeJobError(EXPIRED_IN_QUEUE) };
    expect(toJobObject(fetched, 'failed', null, base.timestamp + 8000)).toEqual(overdue);
    // Expired before its deadline (its input gone): completed then, never at a time to come.
    const early = { ...timed, processedOn: base.timestamp + 200, finishedOn: base.timestamp + 201, failedReason: encodeJobError({ type: 'expired', message: 'input gone' }) };
    expect(toJobObject(early, 'failed', null, base.timestamp + 300).completed_at).toBe('2026-01-01T00:00:00.201Z');
    // Without a clock (the worker's views), as BullMQ has it; running or canceled, never expired.
    expect(toJobObject(timed, 'prioritized', null).status).toBe('queued');
    expect(toJobObject({ ...timed, processedOn: base.timestamp + 100 }, 'active', null, base.timestamp + 600).status).toBe('running');
    expect(toJobObject(timed, 'prioritized', base.timestamp + 100, base.timestamp + 600).status).toBe('canceled');
    // Taken by a worker before its deadline, back in the queue after that worker died: it waits to run, not expired.
    expect(toJobObject({ ...timed, processedOn: base.timestamp + 100 }, 'waiting', null, base.timestamp + 600).status).toBe('queued');
  });

  it('an expired job never completed before it was created (a deadline taken a moment before BullMQ stamped the job)', () => {
    const stampedLate = { ...base, data: { ...base.data, deadline: base.timestamp - 1 } };
    const overdue = toJobObject(stampedLate, 'prioritized', null, base.timestamp + 5);
    expect(overdue).toMatchObject({ status: 'failed', error: { type: 'expired' } });
    expect(overdue.completed_at).toBe(overdue.created_at);
  });

  it('a queued job canceled by request and then failed at its fetch reads as it did before the fetch', () => {
    const queued = toJobObject(base, 'waiting', base.timestamp + 1000);
    const fetched = { ...base, processedOn: base.timestamp + 9000, finishedOn: base.timestamp + 9001, failedReason: encodeJobError(CANCELED_BEFORE_IT_RAN) };
    expect(toJobObject(fetched, 'failed', base.timestamp + 1000)).toEqual(queued);
    // Between the fetch and that failure (BullMQ holds it active, its deferred failure set): the same, not running.
    const beingFailed = { ...base, processedOn: base.timestamp + 9000, deferredFailure: encodeJobError(CANCELED_BEFORE_IT_RAN) };
    expect(toJobObject(beingFailed, 'active', base.timestamp + 1000)).toEqual(queued);
    // Canceled while a worker held it (no deferred failure): it runs on until its worker drops it.
    expect(toJobObject({ ...base, processedOn: base.timestamp + 900 }, 'active', base.timestamp + 1000).status).toBe('running');
    // Its cancel's record gone (past its retention): completed when BullMQ failed it, still never started.
    expect(toJobObject(fetched, 'failed', null)).toMatchObject({ status: 'canceled', started_at: null, completed_at: '2026-01-01T00:00:09.001Z' });
    // Canceled while a worker held it: it started, and ended when the worker dropped it.
    const held = toJobObject({ ...fetched, failedReason: encodeJobError(CANCELED_BY_REQUEST) }, 'failed', base.timestamp + 8000);
    expect(held).toMatchObject({ status: 'canceled', started_at: '2026-01-01T00:00:09.000Z', completed_at: '2026-01-01T00:00:09.001Z' });
  });

  it("a running job stamped before it was created (a worker's blocking fetch stamps the time its wait began) starts when it was created", () => {
    const running = toJobObject({ ...base, processedOn: base.timestamp - 4000 }, 'active', null);
    expect(running).toMatchObject({ status: 'running', created_at: '2026-01-01T00:00:00.000Z', started_at: '2026-01-01T00:00:00.000Z' });
    // a failed one alike; a stamp after the creation is kept
    expect(toJobObject({ ...base, processedOn: base.timestamp - 1, finishedOn: base.timestamp + 2, failedReason: encodeJobError({ type: 'inference-failed', message: 'bad' }) }, 'failed', null).started_at).toBe('2026-01-01T00:00:00.000Z');
    expect(toJobObject({ ...base, processedOn: base.timestamp + 3 }, 'active', null).started_at).toBe('2026-01-01T00:00:00.003Z');
  });

  it('a queued job has no start or end time', () => {
    expect(toJobObject(base, 'waiting', null)).toMatchObject({ status: 'queued', started_at: null, completed_at: null, outputs: null });
  });
});

describe('toMemberObject', () => {
  const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
  const carrier: StoredJob = {
    ...base,
    id: 'job_carrier',
    data: { ...data, rows: 4, metadata: undefined as never, requests: 3, members: [{ id: 'job_a', rows: 1, metadata: { k: 'a' } }, { id: 'job_b', rows: 2 }, { id: 'job_c', rows: 1, metadata: { k: 'c' } }] },
    processedOn: base.timestamp + 5,
    finishedOn: base.timestamp + 9,
    returnvalue: {
      v: 1,
      outputs: [toEncoded({ name: 'y', datatype: 'FP32', shape: [4, 2], data: f32(0, 1, 2, 3, 4, 5, 6, 7) })],
      metrics: { queue_ms: 1, batch_wait_ms: 0, inference_ms: 2, batch_size: 4, runs: 1, worker: 'w' },
    },
  };

  it('each member is its own job: its id, metadata and rows of the outputs, the carrier state and metrics', () => {
    const b = toMemberObject(carrier, 'job_b', 'completed', null)!;
    expect(b).toMatchObject({ id: 'job_b', status: 'succeeded', metadata: null, metrics: { batch_size: 4 } });
    expect(b.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [2, 2], data: [2, 3, 4, 5] }]);
    const c = toMemberObject(carrier, 'job_c', 'completed', null)!;
    expect(c).toMatchObject({ id: 'job_c', metadata: { k: 'c' }, outputs: [{ shape: [1, 2], data: [6, 7] }] });
    expect(toMemberObject(carrier, 'job_carrier', 'completed', null)).toBeUndefined();
  });

  it('a member that failed alone (memberErrors) is failed with its own error; the others\' rows skip its rows', () => {
    const err = { type: 'inference-failed' as const, message: 'idx=100 out of range' };
    const partly: StoredJob = {
      ...carrier,
      returnvalue: { ...carrier.returnvalue!, memberErrors: { job_b: err }, outputs: [toEncoded({ name: 'y', datatype: 'FP32', shape: [2, 2], data: f32(0, 1, 6, 7) })] },
    };
    expect(toMemberObject(partly, 'job_b', 'completed', null)).toMatchObject({ id: 'job_b', status: 'failed', error: err, outputs: null, metrics: null });
    expect(toMemberObject(partly, 'job_a', 'completed', null)).toMatchObject({ status: 'succeeded', error: null, outputs: [{ shape: [1, 2], data: [0, 1] }] });
    expect(toMemberObject(partly, 'job_c', 'completed', null)).toMatchObject({ status: 'succeeded', outputs: [{ shape: [1, 2], data: [6, 7] }] });
  });

  it('a member canceled (while its carrier was queued) stays canceled whatever the carrier did', () => {
    const a = toMemberObject(carrier, 'job_a', 'completed', base.timestamp + 2)!;
    expect(a).toMatchObject({ id: 'job_a', status: 'canceled', outputs: null, metrics: null, started_at: null, completed_at: '2026-01-01T00:00:00.002Z' });
    expect(toMemberObject({ ...carrier, returnvalue: null, finishedOn: undefined }, 'job_a', 'waiting', null)).toMatchObject({ status: 'queued', metadata: { k: 'a' } });
  });
});

describe('outputs stored apart (large outputs: the result holds where their bytes sit, not the bytes)', () => {
  const bytes = new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer);
  const metrics = { queue_ms: 1, batch_wait_ms: 0, inference_ms: 2, batch_size: 3, runs: 1, worker: 'w' };
  const stored: StoredJob = {
    ...base,
    finishedOn: base.timestamp + 9,
    returnvalue: { v: 1, payload: 'maas:{q}:job_1:result', outputs: [{ name: 'y', datatype: 'FP32', shape: [3, 2], at: [0, 24] }], metrics },
  };

  it('a view uses the outputs read apart', () => {
    const job = toJobObject({ ...stored, outputs: [{ name: 'y', datatype: 'FP32', shape: [3, 2], data: bytes }] }, 'completed', null);
    expect(job.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [3, 2], data: [0, 1, 2, 3, 4, 5] }]);
  });

  it('a view of such a job whose outputs were not read fails loudly instead of showing none', () => {
    expect(() => toJobObject(stored, 'completed', null)).toThrow(/stored apart \(maas:\{q\}:job_1:result\) and were not read/);
  });

  it("a member's rows are its slice of the carrier's outputs read apart", () => {
    const carrier: StoredJob = {
      ...stored,
      data: { ...data, rows: 3, requests: 2, members: [{ id: 'job_a', rows: 1 }, { id: 'job_b', rows: 2 }] },
      outputs: [{ name: 'y', datatype: 'FP32', shape: [3, 2], data: bytes }],
    };
    expect(toMemberObject(carrier, 'job_b', 'completed', null)!.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [2, 2], data: [2, 3, 4, 5] }]);
    expect(toMemberObject(carrier, 'job_a', 'completed', null)!.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [0, 1] }]);
  });
});
