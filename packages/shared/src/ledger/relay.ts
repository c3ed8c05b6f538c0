/**
 * OutboxRelay: turns outbox entries into webhook deliveries (WebhookEmitter: a delivery job
 * whose jobId is the event's webhook-id, so relaying an entry twice queues it once), then
 * removes them. At least once: an entry leaves its outbox only after its delivery is queued.
 *
 * `relay` sends the entries a writer was just handed by the ledger (they are leased to it);
 * `sweep` (run by every worker on a timer) takes the entries whose lease ran out — their
 * writer died, or Redis failed it — from every outbox listed in OUTBOX_SLOTS_KEY, and drops
 * from that list the outboxes of completed batches once empty.
 * The events of one subject are queued in the order they were relayed (job.start first).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { batchKeys, batchSlot, OUTBOX_SLOTS_KEY, outboxKeys } from '../queues.js';
import { DEFAULT_TENANT } from '../tenants.js';
import { readBatch, toBatchObject } from '../views/batch.js';
import { batchWebhookEvent, type WebhookEventInput } from '../webhooks/events.js';
import type { WebhookEmitter } from '../webhooks/emitter.js';
import { decodeEntry, UnreadableEntryError, type OutboxItem } from './entry.js';
import { OUTBOX_LEASE_MS } from './record.js';
import { CLAIM_OUTBOX_LUA } from './scripts.js';
import { clusterNow } from '../cluster-clock.js';

/** Entries one sweeper takes from one outbox per visit. */
const CLAIM_LIMIT = 200;

export class OutboxRelay {
  /** subject → its events being queued, chained */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly redis: Redis,
    private readonly emitter: WebhookEmitter,
    private readonly log: Logger,
    private readonly leaseMs = OUTBOX_LEASE_MS,
  ) {}

  /**
   * Queues the deliveries of `items` (entries of the outbox of `slot`) and removes them.
   * Never rejects: an entry that could not be relayed stays, and a sweeper retries it.
   */
  async relay(slot: string, items: readonly OutboxItem[]): Promise<void> {
    if (items.length === 0) return;
    const done = await Promise.all(items.map((it) => this.queue(it)));
    const relayed = items.filter((_, i) => done[i]).map((it) => it.id);
    if (relayed.length === 0) return;
    const o = outboxKeys(slot);
    await this.redis.multi().zrem(o.due, ...relayed).hdel(o.events, ...relayed).exec()
      .catch((err: unknown) => this.log.warn({ err, slot }, 'outbox entries relayed but not removed (they will be relayed again)'));
  }

  /** Queues one entry's delivery after the subject's earlier ones; true when queued (or dropped as unreadable). */
  private queue(item: OutboxItem): Promise<boolean> {
    let subject = item.id;
    let build: () => Promise<WebhookEventInput | null>;
    try {
      const e = decodeEntry(item.entry);
      if ('batch' in e) {
        subject = e.batch;
        build = () => this.batchEvent(e.batch);
      } else {
        subject = e.event.subject;
        build = async () => e.event;
      }
    } catch (err) {
      this.log.error({ err, id: item.id }, 'unreadable outbox entry dropped');
      return Promise.resolve(err instanceof UnreadableEntryError);
    }
    const previous = this.inFlight.get(subject) ?? Promise.resolve();
    const next = previous.then(build).then(async (event) => {
      if (event) await this.emitter.emit(event);
      return true;
    }).catch((err: unknown) => {
      this.log.warn({ err, id: item.id, subject }, 'webhook event not queued yet (a sweeper will retry)');
      return false;
    }).finally(() => {
      if (this.inFlight.get(subject) === next) this.inFlight.delete(subject);
    });
    this.inFlight.set(subject, next);
    return next;
  }

  /** The batch.completed of a completed batch, from its stored state (null: no webhook, or gone). */
  private async batchEvent(batchId: string): Promise<WebhookEventInput | null> {
    const { meta, counts } = await readBatch(this.redis, batchId);
    if (!meta['completed_at']) return null;
    const event = batchWebhookEvent(toBatchObject(batchId, meta, counts), meta['tenant'] ?? DEFAULT_TENANT);
    return event && { ...event, occurredAt: Number(meta['completed_at']) };
  }

  /** Relays every entry whose lease ran out, in every listed outbox. Returns how many were relayed. */
  async sweep(now = clusterNow()): Promise<number> {
    const slots = await this.redis.smembers(OUTBOX_SLOTS_KEY);
    let n = 0;
    for (const slot of slots) {
      const o = outboxKeys(slot);
      const batchId = /^\{b-(.+)\}$/.exec(slot)?.[1];
      const keys = batchId ? [o.due, o.events, batchKeys(batchId).meta] : [o.due, o.events];
      const out = (await this.redis.eval(CLAIM_OUTBOX_LUA, keys.length, ...keys, now, this.leaseMs, CLAIM_LIMIT)) as [number, ...string[]];
      const items: OutboxItem[] = [];
      for (let i = 1; i + 1 < out.length; i += 2) items.push({ id: out[i] as string, entry: out[i + 1] as string });
      if (items.length > 0) {
        this.log.info({ slot, entries: items.length }, 'relaying outbox entries left by a process that stopped');
        await this.relay(slot, items);
        n += items.length;
      }
      if (out[0] === 1 && batchId && slot === batchSlot(batchId)) await this.redis.srem(OUTBOX_SLOTS_KEY, slot);
    }
    return n;
  }

  /** Resolves once every relay started so far has finished. */
  async close(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }
}
