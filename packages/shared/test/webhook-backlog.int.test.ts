/**
 * webhookBacklog on a real redis-server and BullMQ: what a worker has to send now or soon
 * (queued deliveries, retries due within the minute, events in the outboxes not yet queued),
 * and not a retry due hours ahead.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTBOX_SLOTS_KEY, outboxKeys } from '../src/queues.js';
import { startRedisServer, type RedisServer } from '../src/redis-server.js';
import { webhookBacklog } from '../src/webhooks/backlog.js';
import { WebhookEmitter } from '../src/webhooks/emitter.js';

let server: RedisServer;
let redis: Redis;
let emitter: WebhookEmitter;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  emitter = new WebhookEmitter(redis, 3600);
});
afterAll(async () => {
  await emitter?.close();
  redis?.disconnect();
  await server?.stop();
});

const event = (subject: string) => ({ type: 'job.completed' as const, tenant: 't', subject, url: 'https://x.test/h', data: { id: subject } as never });

describe('webhookBacklog', () => {
  it('counts deliveries queued, retries due within the minute and unrelayed outbox entries; not a retry due in an hour', async () => {
    expect(await webhookBacklog(redis, emitter.queue)).toBe(0);
    await emitter.emit(event('j1'));
    await emitter.emit(event('j2'));
    // Two retries waiting in BullMQ's delayed set, as the deliverer's backoff leaves them.
    await emitter.queue.add('job.completed', {} as never, { jobId: 'soon', delay: 20_000 });
    await emitter.queue.add('job.completed', {} as never, { jobId: 'later', delay: 3_600_000 });
    // Events recorded with endings in two outboxes (two hash slots), not yet queued.
    for (const [slot, ids] of [['{infer-a-v1}', ['e1', 'e2']], ['{infer-b-v1}', ['e3']]] as const) {
      await redis.sadd(OUTBOX_SLOTS_KEY, slot);
      for (const id of ids) await redis.zadd(outboxKeys(slot).due, Date.now() + 5000, id);
    }
    expect(await webhookBacklog(redis, emitter.queue)).toBe(2 + 1 + 3);
    // The later retry counts once it is within the minute.
    expect(await webhookBacklog(redis, emitter.queue, Date.now() + 3_600_000 - 30_000)).toBe(2 + 2 + 3);
  });
});
