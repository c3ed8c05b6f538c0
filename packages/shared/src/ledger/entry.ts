/**
 * PURE: what an outbox entry holds, and the terminal markers the ledger writes on a job.
 *
 * An entry is either the event in full (its body was known when the ending was recorded: a
 * job's start or end), or a reference to a completed batch, whose batch.completed body is read
 * from the batch when relayed (a completed batch no longer changes). The entry's id in the
 * outbox is the event's `webhook-id` (messageId), so an event recorded or relayed twice is
 * one delivery.
 */
import type { JobError } from '../contract/job.js';
import { decodeJobError, encodeJobError } from '../payloads.js';
import { messageId, type WebhookEventInput } from '../webhooks/events.js';

export type OutboxEntry = { v: 1; event: WebhookEventInput } | { v: 1; batch: string };

/** An entry with its outbox id (the event's webhook-id). */
export interface OutboxItem {
  id: string;
  entry: string;
}

export class UnreadableEntryError extends Error {
  override readonly name = 'UnreadableEntryError';
}

export function eventItem(event: WebhookEventInput): OutboxItem {
  return { id: messageId(event.subject, event.type), entry: JSON.stringify({ v: 1, event } satisfies OutboxEntry) };
}

export function batchCompletedItem(batchId: string): OutboxItem {
  return { id: messageId(batchId, 'batch.completed'), entry: JSON.stringify({ v: 1, batch: batchId } satisfies OutboxEntry) };
}

export function decodeEntry(text: string): OutboxEntry {
  let e: unknown;
  try {
    e = JSON.parse(text);
  } catch {
    throw new UnreadableEntryError('outbox entry is not JSON');
  }
  if (typeof e === 'object' && e !== null && (e as { v?: unknown }).v === 1) {
    const x = e as Record<string, unknown>;
    if (typeof x['batch'] === 'string') return { v: 1, batch: x['batch'] };
    const ev = x['event'] as Partial<WebhookEventInput> | undefined;
    if (ev && typeof ev.type === 'string' && typeof ev.subject === 'string' && typeof ev.url === 'string') return { v: 1, event: ev as WebhookEventInput };
  }
  throw new UnreadableEntryError('unknown outbox entry');
}

/**
 * How a job ended, as the ledger keeps it on the job's record (field `ended`): the first
 * writer's word is final. `completed`, `canceled`, or `failed:` + the encoded error.
 */
export type EndMarker = string;
export type Ending = { state: 'completed' } | { state: 'canceled' } | { state: 'failed'; error: JobError };

export function endMarker(e: Ending): EndMarker {
  return e.state === 'failed' ? `failed:${encodeJobError(e.error)}` : e.state;
}

export function parseEndMarker(m: EndMarker): Ending {
  if (m === 'completed' || m === 'canceled') return { state: m };
  if (m.startsWith('failed:')) return { state: 'failed', error: decodeJobError(m.slice('failed:'.length)) };
  throw new UnreadableEntryError(`unknown end marker ${JSON.stringify(m.slice(0, 40))}`);
}
