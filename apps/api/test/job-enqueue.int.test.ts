/**
 * JobService.enqueue on a real redis-server, BullMQ and the repository's mlp model, with one
 * write refused as Redis refuses it when out of memory: a job is added only once its index and
 * its inputs' bytes are written, so a refused write is a 503 with nothing queued (a Redis audit
 * found jobs answered 503 that ran anyway and sent webhooks), and what was written for a job
 * never added is removed.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, isRedisUnavailable, loadRepository, OutboxRelay, startRedisServer, WebhookEmitter, type RedisServer } from '@maas/shared';
import { ModelCatalog } from '../src/services/catalog.js';
import { IdempotencyStore } from '../src/services/idempotency.js';
import { JobService } from '../src/services/jobs.js';
import { JobNotifier } from '../src/services/notifier.js';
import { QueueRegistry } from '../src/services/queues.js';

const MODELS = join(dirname(fileURLToPath(import.meta.url)), '../../../models');
const log = createLogger('test', 'silent');
const oom = () => new Error("OOM command not allowed when used memory > 'maxmemory'.");

let server: RedisServer;
let redis: Redis;
let subscriber: Redis;
let queues: QueueRegistry;
let emitter: WebhookEmitter;
let jobs: JobService;
let idempotency: IdempotencyStore;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  subscriber = new Redis(server.url, { maxRetriesPerRequest: null });
  queues = new QueueRegistry(new Redis(server.url, { maxRetriesPerRequest: null }));
  emitter = new WebhookEmitter(redis, 3600);
  const catalog = new ModelCatalog(await loadRepository(MODELS));
  idempotency = new IdempotencyStore(redis, 3600);
  jobs = new JobService(redis, catalog, queues, await JobNotifier.start(subscriber, log), idempotency, {
    retentionSeconds: 3600, maxQueueDepth: 10_000, attempts: 3, allowPrivateWebhooks: true,
  }, new OutboxRelay(redis, emitter, log));
});
afterAll(async () => {
  await emitter?.close();
  await queues?.close();
  subscriber?.disconnect();
  redis?.disconnect();
  await server?.stop();
});

/** An mlp request of `rows` rows (600: 76,800 bytes of inputs, stored beside the job). */
const request = (rows: number) => ({
  model: 'mlp', webhook: 'http://127.0.0.1:9/hook',
  inputs: [{ name: 'input', datatype: 'FP32' as const, shape: [rows, 32], data: Array.from({ length: rows * 32 }, (_, i) => (i % 7) / 7) }],
});

const queued = async () => {
  const counts = await queues.forVersion('mlp', 1).getJobCounts('waiting', 'prioritized', 'delayed', 'active');
  return Object.values(counts).reduce((a, b) => a + b, 0);
};
const leftovers = async () => [...(await redis.keys('maas:job:*')), ...(await redis.keys('maas:*:payload'))];

/** `target[method]` refusing its next call as Redis does when out of memory, then itself again. */
function refuseOnce<T extends object>(target: T, method: keyof T): void {
  const real = target[method] as (...args: unknown[]) => unknown;
  (target as Record<keyof T, unknown>)[method] = () => {
    (target as Record<keyof T, unknown>)[method] = real;
    return Promise.reject(oom());
  };
}

describe('JobService.enqueue when Redis refuses a write', () => {
  it("a refused inputs' write is a 503 with no job added", async () => {
    refuseOnce(queues.connection, 'set');
    const refused = await jobs.create('t', request(600)).then(() => undefined, (err: unknown) => err);
    expect(isRedisUnavailable(refused)).toBe(true);
    expect(await queued()).toBe(0);
    expect(await leftovers()).toEqual([]);
  });

  it("a refused index's write is a 503 with no job added (a single row: inputs in the job)", async () => {
    refuseOnce(redis, 'set');
    const refused = await jobs.create('t', request(1)).then(() => undefined, (err: unknown) => err);
    expect(isRedisUnavailable(refused)).toBe(true);
    expect(await queued()).toBe(0);
    expect(await leftovers()).toEqual([]);
  });

  it("a refused add leaves neither the job's index nor its inputs", async () => {
    refuseOnce(queues.forVersion('mlp', 1), 'add');
    const refused = await jobs.create('t', request(600)).then(() => undefined, (err: unknown) => err);
    expect(isRedisUnavailable(refused)).toBe(true);
    expect(await queued()).toBe(0);
    expect(await leftovers()).toEqual([]);
  });

  it('a failure after the job is queued (its Idempotency-Key commit) releases nothing: the retry with the key gets that job, not a second', async () => {
    const before = await queued();
    refuseOnce(idempotency, 'commit');
    const refused = await jobs.create('t', request(1), 'key-1').then(() => undefined, (err: unknown) => err);
    expect(isRedisUnavailable(refused)).toBe(true);
    expect(await queued()).toBe(before + 1);
    const again = await jobs.create('t', request(1), 'key-1');
    expect(again.created).toBe(false);
    expect(await queued()).toBe(before + 1);
  });

  it('an add sent but not answered in time (a Redis holding its connection) removes nothing: Redis may run it yet, and here it did', async () => {
    const before = await queued();
    const queue = queues.forVersion('mlp', 1);
    const real = queue.add.bind(queue);
    // The add goes out, and its answer comes after ioredis's commandTimeout has failed it.
    queue.add = ((...args: Parameters<typeof real>) => {
      queue.add = real;
      void real(...args).catch(() => undefined);
      return Promise.reject(new Error('Command timed out'));
    }) as typeof queue.add;
    const refused = (await jobs.create('t', request(600)).then(() => undefined, (err: unknown) => err)) as Error;
    expect(refused).toMatchObject({ type: 'redis-unavailable', status: 503 });
    const id = /job (job_\S+) may have been queued all the same: GET \/v1\/jobs\/\1 says/.exec(refused.message)?.[1];
    expect(id, refused.message).toBeDefined();
    await new Promise((r) => setTimeout(r, 200));
    expect(await queued()).toBe(before + 1);
    // Its index and inputs are there for it: found by its id, and runnable.
    expect(await redis.exists(`maas:job:${id}`)).toBe(1);
    expect(await redis.exists(`maas:{infer-mlp-v1}:${id}:payload`)).toBe(1);
    expect((await jobs.get('t', id!)).status).toBe('queued');
  });

  it('once Redis takes writes again, a job is added with its index and inputs', async () => {
    const before = await queued();
    const { job } = await jobs.create('t', request(600));
    expect(await queued()).toBe(before + 1);
    expect(await redis.exists(`maas:job:${job.id}`)).toBe(1);
    expect(await redis.keys('maas:*:payload')).toHaveLength(2); // and the one whose add went unanswered
  });
});
