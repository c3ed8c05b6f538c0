import { describe, expect, it } from 'vitest';
import { inferenceQueueName, jobIndexValue, parseJobIndex } from './queues.js';

describe('job index values', () => {
  it('a plain job names its queue; a member its queue and carrier', () => {
    const q = inferenceQueueName('a.b-c_9', 12);
    expect(parseJobIndex(jobIndexValue(q))).toEqual({ queue: q });
    expect(parseJobIndex(jobIndexValue(q, 'job_x-Y_1'))).toEqual({ queue: q, carrier: 'job_x-Y_1' });
  });
});
