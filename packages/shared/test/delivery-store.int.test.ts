/**
 * DeliveryStore's key lifetimes on a real redis-server: an attempted event's record lasts the
 * job's retention, its next attempt's wait and an hour; an event not yet attempted, and the
 * subject's list of events, a day past the retention.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookAttemptsKey, webhookDeliveryKey, webhookEventsKey } from '../src/queues.js';
import { startRedisServer, type RedisServer } from '../src/redis-server.js';
import { DeliveryStore } from '../src/webhooks/store.js';

let server: RedisServer;
let redis: Redis;
let store: DeliveryStore;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  store = new DeliveryStore(redis);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const KEEP_S = 120;
const DAY = 24 * 3600;
const attempt = (n: number, status: number) => ({ at: new Date().toISOString(), attempt: n, status, duration_ms: 3 });

describe('DeliveryStore key lifetimes', () => {
  it('a pending event waits a day past the retention; each attempt sets its record to the retention, its next wait and an hour; the list of events keeps the day', async () => {
    const subject = 'job_ttl';
    await store.create(subject, { id: 'msg_a', type: 'job.completed', url: 'https://x.test/h' }, KEEP_S);
    const ttl = (key: string) => redis.ttl(key);
    expect(await ttl(webhookDeliveryKey(subject, 'msg_a'))).toBeGreaterThan(KEEP_S + DAY - 10);

    const now = Date.now();
    await store.recordAttempt(subject, 'msg_a', attempt(1, 500), { status: 'pending', next_attempt_at: new Date(now + 600_000).toISOString() }, KEEP_S, now);
    for (const key of [webhookDeliveryKey(subject, 'msg_a'), webhookAttemptsKey(subject, 'msg_a')]) {
      const t = await ttl(key);
      expect(t, key).toBeGreaterThan(KEEP_S + 600 + 3600 - 10);
      expect(t, key).toBeLessThanOrEqual(KEEP_S + 600 + 3600);
    }

    await store.recordAttempt(subject, 'msg_a', attempt(2, 200), { status: 'delivered', next_attempt_at: null }, KEEP_S);
    for (const key of [webhookDeliveryKey(subject, 'msg_a'), webhookAttemptsKey(subject, 'msg_a')]) {
      const t = await ttl(key);
      expect(t, key).toBeGreaterThan(KEEP_S + 3600 - 10);
      expect(t, key).toBeLessThanOrEqual(KEEP_S + 3600);
    }
    // Another event of the subject may still wait hours for its next attempt: its list keeps the day.
    expect(await ttl(webhookEventsKey(subject))).toBeGreaterThan(KEEP_S + DAY - 10);
    expect((await store.list(subject)).map((r) => [r.id, r.status, r.attempts.length])).toEqual([['msg_a', 'delivered', 2]]);
  });
});
