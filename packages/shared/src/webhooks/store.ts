/**
 * DeliveryStore: the delivery history of webhook events, kept in Redis so it survives restarts.
 *
 * Per subject (job or batch): a set of its event ids; per event a hash (type, url, status,
 * next attempt, redeliveries) and a list of attempts. Each write is one MULTI (or script) on keys of one
 * slot and refreshes their TTL. An event's record lasts `keep_s` (the job retention) after its
 * last change, and while an attempt is due, until an hour past it (`recordAttempt`); written
 * before any attempt (pending, for a worker to take up), a day past `keep_s`. The subject's set
 * of events keeps the day, since its events' writes come in any order.
 */
import type { Redis } from 'ioredis';
import { webhookAttemptsKey, webhookDeliveryKey, webhookEventsKey, webhookRedeliveryKey } from '../queues.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './events.js';
import { clusterNow } from '../cluster-clock.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'exhausted';

export interface AttemptRecord {
  at: string;
  /** 1-based within its series (a redelivery starts a new series at 1) */
  attempt: number;
  /** HTTP status, or null when no response came (timeout, refused, DNS) */
  status: number | null;
  duration_ms: number;
  error?: string;
  /** the first characters of the response body */
  response_excerpt?: string;
}

export interface DeliveryRecord {
  id: string;
  type: WebhookEventType;
  url: string;
  created_at: string;
  status: DeliveryStatus;
  next_attempt_at: string | null;
  redeliveries: number;
  attempts: AttemptRecord[];
}

/** Attempts kept per event (a redelivered event could otherwise grow without bound). */
const MAX_ATTEMPTS_KEPT = 100;
/** An event not yet attempted (or redelivered) waits for a worker: its record lasts this long past `keep_s`. */
const GAP_MARGIN_S = 24 * 3600;
/** An attempted event's record lasts this long past `keep_s` and its next attempt (if any). */
const ATTEMPT_MARGIN_S = 3600;

/** KEYS[1] event hash, KEYS[2] attempts list; ARGV[1] last attempt before ('' if none), ARGV[2] now (ISO), ARGV[3] ttl s. */
const REDELIVERED_LUA = `
redis.call('HINCRBY', KEYS[1], 'redeliveries', 1)
if (redis.call('LINDEX', KEYS[2], -1) or '') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'status', 'pending', 'next_attempt_at', ARGV[2])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1`;

type Summary = Omit<DeliveryRecord, 'attempts'>;

function fromHash(h: Record<string, string>): Summary | null {
  if (!h['id']) return null;
  return {
    id: h['id'],
    type: h['type'] as WebhookEventType,
    url: h['url'] ?? '',
    created_at: h['created_at'] ?? '',
    status: (h['status'] ?? 'pending') as DeliveryStatus,
    next_attempt_at: h['next_attempt_at'] || null,
    redeliveries: Number(h['redeliveries'] ?? 0),
  };
}

export class DeliveryStore {
  constructor(private readonly redis: Redis) {}

  private ttl(keepSeconds: number): number {
    return keepSeconds + GAP_MARGIN_S;
  }

  /** Records a new event as pending; a second call for the same event changes nothing. */
  async create(subject: string, e: { id: string; type: WebhookEventType; url: string }, keepSeconds: number): Promise<void> {
    const key = webhookDeliveryKey(subject, e.id);
    const now = new Date(clusterNow()).toISOString();
    const fields = { id: e.id, type: e.type, url: e.url, created_at: now, status: 'pending', next_attempt_at: now, redeliveries: '0' };
    const m = this.redis.multi();
    // HSETNX field by field: an event emitted twice keeps its first record, whatever its state.
    for (const [k, v] of Object.entries(fields)) m.hsetnx(key, k, v);
    await m
      .expire(key, this.ttl(keepSeconds))
      .sadd(webhookEventsKey(subject), e.id)
      .expire(webhookEventsKey(subject), this.ttl(keepSeconds))
      .exec();
  }

  /** Appends an attempt and sets the event's status and next attempt time. */
  async recordAttempt(
    subject: string,
    msgId: string,
    attempt: AttemptRecord,
    state: { status: DeliveryStatus; next_attempt_at: string | null },
    keepSeconds: number,
    now = clusterNow(),
  ): Promise<void> {
    const key = webhookDeliveryKey(subject, msgId);
    const list = webhookAttemptsKey(subject, msgId);
    const untilNextS = state.next_attempt_at ? Math.max(0, Math.ceil((Date.parse(state.next_attempt_at) - now) / 1000)) : 0;
    const ttl = keepSeconds + untilNextS + ATTEMPT_MARGIN_S;
    await this.redis
      .multi()
      .hset(key, { status: state.status, next_attempt_at: state.next_attempt_at ?? '' })
      .rpush(list, JSON.stringify(attempt))
      .ltrim(list, -MAX_ATTEMPTS_KEPT, -1)
      .expire(key, ttl)
      .expire(list, ttl)
      .expire(webhookEventsKey(subject), this.ttl(keepSeconds))
      .exec();
  }

  /**
   * Claims the redelivery of an event for `holdMs`: true for the one call that may start its
   * new series; calls meanwhile join that one (see `redeliveryUnderWay`).
   */
  async claimRedelivery(subject: string, msgId: string, holdMs: number): Promise<boolean> {
    return (await this.redis.set(webhookRedeliveryKey(subject, msgId), 'started', 'PX', holdMs, 'NX')) === 'OK';
  }

  /** The claimer has done its part (the series queued or not needed); the claim stays until its expiry. */
  async redeliveryDone(subject: string, msgId: string): Promise<void> {
    await this.redis.set(webhookRedeliveryKey(subject, msgId), 'done', 'KEEPTTL', 'XX');
  }

  /** The claimer failed: the next call may try again. */
  async releaseRedelivery(subject: string, msgId: string): Promise<void> {
    await this.redis.del(webhookRedeliveryKey(subject, msgId));
  }

  /** True while a claimer is still starting the event's redelivery. */
  async redeliveryUnderWay(subject: string, msgId: string): Promise<boolean> {
    return (await this.redis.get(webhookRedeliveryKey(subject, msgId))) === 'started';
  }

  /** The last attempt as stored (null when none): what `redelivered` compares against. */
  async lastAttempt(subject: string, msgId: string): Promise<string | null> {
    return this.redis.lindex(webhookAttemptsKey(subject, msgId), -1);
  }

  /**
   * Counts a redelivery whose series has been queued, and marks the event pending, unless the
   * series' first attempt has already been recorded (the last attempt is no longer
   * `lastBefore`, read before the series was queued): that attempt's state stands.
   */
  async redelivered(subject: string, msgId: string, lastBefore: string | null, keepSeconds: number): Promise<void> {
    await this.redis.eval(
      REDELIVERED_LUA, 2, webhookDeliveryKey(subject, msgId), webhookAttemptsKey(subject, msgId),
      lastBefore ?? '', new Date(clusterNow()).toISOString(), this.ttl(keepSeconds),
    );
  }

  async get(subject: string, msgId: string): Promise<DeliveryRecord | null> {
    const [summary, attempts] = await Promise.all([
      this.redis.hgetall(webhookDeliveryKey(subject, msgId)),
      this.redis.lrange(webhookAttemptsKey(subject, msgId), 0, -1),
    ]);
    const s = fromHash(summary);
    return s ? { ...s, attempts: attempts.map((a) => JSON.parse(a) as AttemptRecord) } : null;
  }

  /** Every event of a subject, oldest first. */
  async list(subject: string): Promise<DeliveryRecord[]> {
    const ids = await this.redis.smembers(webhookEventsKey(subject));
    const records = await Promise.all(ids.map((id) => this.get(subject, id)));
    return records
      .filter((r): r is DeliveryRecord => r !== null)
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || WEBHOOK_EVENT_TYPES.indexOf(a.type) - WEBHOOK_EVENT_TYPES.indexOf(b.type));
  }
}
