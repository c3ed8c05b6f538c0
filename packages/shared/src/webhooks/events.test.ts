import { describe, expect, it } from 'vitest';
import type { JobObject } from '../contract/job.js';
import { tensorOf } from '../tensors/encode.js';
import { outputTensor } from '../tensors/output-tensor.js';
import { eventBody, jobWebhookEvent, MESSAGE_ID, messageId } from './events.js';

const job: JobObject = {
  id: 'job_abc', object: 'job', model: 'mlp', version: '1', status: 'running', created_at: '2026-01-01T00:00:00.000Z',
  started_at: '2026-01-01T00:00:01.000Z', completed_at: null, outputs: null, error: null, metrics: null, metadata: null,
  priority: 100, webhook: 'https://hooks.example/x', webhook_events_filter: null,
};

describe('messageId', () => {
  it('is stable per subject and type, and differs otherwise', () => {
    const a = messageId('job_abc', 'job.start');
    expect(a).toMatch(MESSAGE_ID);
    expect(a).not.toContain(':'); // BullMQ refuses ':' in job ids
    expect(messageId('job_abc', 'job.start')).toBe(a);
    expect(messageId('job_abc', 'job.completed')).not.toBe(a);
    expect(messageId('job_abd', 'job.start')).not.toBe(a);
  });
});

describe('jobWebhookEvent', () => {
  it('emits both kinds by default, only the filtered ones otherwise, none without a webhook', () => {
    expect(jobWebhookEvent('start', job, 'acme')).toMatchObject({ type: 'job.start', tenant: 'acme', subject: 'job_abc', url: 'https://hooks.example/x', data: job });
    expect(jobWebhookEvent('completed', job, 'acme')?.type).toBe('job.completed');
    const onlyCompleted = { ...job, webhook_events_filter: ['completed' as const] };
    expect(jobWebhookEvent('start', onlyCompleted, 'acme')).toBeNull();
    expect(jobWebhookEvent('completed', onlyCompleted, 'acme')?.type).toBe('job.completed');
    expect(jobWebhookEvent('start', { ...job, webhook: null }, 'acme')).toBeNull();
  });
});

describe('eventBody', () => {
  it('is {type, timestamp, data}', () => {
    const e = jobWebhookEvent('start', job, 'acme', Date.UTC(2026, 0, 1, 0, 0, 1))!;
    expect(JSON.parse(eventBody(e))).toEqual({ type: 'job.start', timestamp: '2026-01-01T00:00:01.000Z', data: job });
  });

  it('writes a succeeded job\'s INT64 outputs past 2^53 exactly', () => {
    const ids = outputTensor(tensorOf('ids', 'INT64', [2], [2n ** 63n - 1n, 9007199254740993n]));
    const done = { ...job, status: 'succeeded' as const, outputs: [ids] };
    expect(eventBody(jobWebhookEvent('completed', done, 'acme')!)).toContain('"name":"ids","datatype":"INT64","shape":[2],"data":[9223372036854775807,9007199254740993]');
  });
});
