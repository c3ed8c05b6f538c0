import { describe, expect, it } from 'vitest';
import { JobRequest, jobRequestIssues, Metadata } from './job.js';

describe('Metadata', () => {
  it('keeps the object as sent, keys of any name but __proto__ at its top (which a record would drop): refused', () => {
    const sent = JSON.parse('{"ok":1,"constructor":2,"nested":{"__proto__":{"a":1}}}') as Record<string, unknown>;
    expect(JSON.stringify(Metadata.parse(sent))).toBe(JSON.stringify(sent));
    const refused = Metadata.safeParse(JSON.parse('{"__proto__":{"a":1},"ok":1}'));
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toBe('a key named __proto__ cannot be kept (rename it)');
  });
  it('is limited to 8 kB of JSON', () => {
    expect(Metadata.safeParse({ x: 'a'.repeat(9000) }).success).toBe(false);
  });
});

describe('JobRequest', () => {
  it('reads optional fields sent as null as absent (a job object sent back is a request)', () => {
    const base = { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1], data: [1] }] };
    const nulls = { version: null, outputs: null, parameters: null, webhook: null, webhook_events_filter: null, priority: null, timeout_ms: null, metadata: null };
    const parsed = JobRequest.parse({ ...base, ...nulls });
    for (const k of Object.keys(nulls)) expect((parsed as Record<string, unknown>)[k]).toBeUndefined();
    expect(JobRequest.safeParse({ ...base, priority: 'high' }).success).toBe(false);
    expect(JobRequest.safeParse({ ...base, model: null }).success).toBe(false);
  });
});

describe('jobRequestIssues: webhook_events_filter', () => {
  const base = { model: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] };
  it('names a filter without a webhook; none with one, or with null for both', () => {
    expect(jobRequestIssues(JobRequest.parse({ ...base, webhook_events_filter: ['completed'] }))).toEqual([
      { path: 'webhook_events_filter', message: expect.stringMatching(/has none: send webhook too/) },
    ]);
    expect(jobRequestIssues(JobRequest.parse({ ...base, webhook: 'https://example.com/h', webhook_events_filter: ['completed'] }))).toEqual([]);
    expect(jobRequestIssues(JobRequest.parse({ ...base, webhook: null, webhook_events_filter: null }))).toEqual([]);
  });
});
