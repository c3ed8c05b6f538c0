import { describe, expect, it } from 'vitest';
import { messageId } from '../webhooks/events.js';
import { batchCompletedItem, decodeEntry, endMarker, eventItem, parseEndMarker, UnreadableEntryError } from './entry.js';

describe('outbox entries', () => {
  const event = { type: 'job.completed' as const, tenant: 't', subject: 'job_1', url: 'https://x.test/h', data: {} as never, occurredAt: 5 };

  it("an event's entry id is its webhook-id, the same however often it is recorded", () => {
    expect(eventItem(event).id).toBe(messageId('job_1', 'job.completed'));
    expect(eventItem(event)).toEqual(eventItem({ ...event }));
    expect(batchCompletedItem('batch_1').id).toBe(messageId('batch_1', 'batch.completed'));
  });

  it('decodes what it encodes, and refuses anything else', () => {
    expect(decodeEntry(eventItem(event).entry)).toEqual({ v: 1, event });
    expect(decodeEntry(batchCompletedItem('batch_1').entry)).toEqual({ v: 1, batch: 'batch_1' });
    for (const bad of ['', 'nope', '{"v":2,"batch":"b"}', '{"v":1}', '{"v":1,"event":{"type":"job.start"}}']) {
      expect(() => decodeEntry(bad), bad).toThrow(UnreadableEntryError);
    }
  });
});

describe('end markers', () => {
  it('round-trip every ending, failures with their error', () => {
    const failed = { state: 'failed' as const, error: { type: 'inference-failed' as const, message: 'boom: a:b' } };
    for (const e of [{ state: 'completed' as const }, { state: 'canceled' as const }, failed]) expect(parseEndMarker(endMarker(e))).toEqual(e);
    expect(endMarker(failed)).toMatch(/^failed:/);
    expect(() => parseEndMarker('running')).toThrow(UnreadableEntryError);
  });
});
