import { describe, expect, it } from 'vitest';
import { chunkJobId, chunkOfJobId, inferenceQueueName, jobIndexValue, parseJobIndex, versionOfQueue } from './queues.js';

describe('job index values', () => {
  it('a plain job names its queue; a member its queue and carrier', () => {
    const q = inferenceQueueName('a.b-c_9', 12);
    expect(parseJobIndex(jobIndexValue(q))).toEqual({ queue: q });
    expect(parseJobIndex(jobIndexValue(q, 'job_x-Y_1'))).toEqual({ queue: q, carrier: 'job_x-Y_1' });
  });
});

describe('chunkOfJobId', () => {
  it('reads back what chunkJobId made, ids with dashes included; other ids are not chunks', () => {
    expect(chunkOfJobId(chunkJobId('batch_a-c9-x', 12))).toEqual({ batchId: 'batch_a-c9-x', chunk: 12 });
    expect(chunkOfJobId('job_abc')).toBeUndefined();
    expect(chunkOfJobId('-c3')).toBeUndefined();
  });
});

describe('versionOfQueue', () => {
  it('reads back the model version inferenceQueueName names, hyphens and all', () => {
    for (const [model, version] of [['mlp', 1], ['my-model-v2', 12], ['a.b_c', 999999999]] as const) {
      expect(versionOfQueue(inferenceQueueName(model, version))).toEqual({ model, version });
    }
  });

  it('is undefined for any other queue', () => {
    for (const name of ['{webhooks}', '{infer-mlp}', '{infer-mlp-v01}', '{infer-mlp-v0}', 'infer-mlp-v1', '{b-123}']) expect(versionOfQueue(name), name).toBeUndefined();
  });
});
