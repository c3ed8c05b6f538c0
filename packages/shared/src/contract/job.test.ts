import { describe, expect, it } from 'vitest';
import { JobRequest, Metadata, WebhookUrl } from './job.js';

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

describe('JobRequest webhook', () => {
  const job = (extra: Record<string, unknown>) => ({ model: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }], ...extra });

  it('keeps the URL as the parser reads it, and each event of the filter once', () => {
    const parsed = JobRequest.parse(job({ webhook: 'HTTP:/Example.COM:80/a/../hook', webhook_events_filter: ['completed', 'completed'] }));
    expect(parsed.webhook).toBe('http://example.com/hook');
    expect(parsed.webhook_events_filter).toEqual(['completed']);
    expect(WebhookUrl.parse('https://example.com')).toBe('https://example.com/');
    expect(WebhookUrl.safeParse('ftp://example.com/x').success).toBe(false);
  });
});
