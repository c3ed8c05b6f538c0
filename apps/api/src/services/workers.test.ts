import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer, WORKER_METRICS_LINGER_MS, WORKERS_GONE_KEY, WORKERS_INFO_KEY, WORKERS_METRICS_KEY, WORKERS_SEEN_KEY, type RedisServer } from '@maas/shared';
import { refusalsOf, servedFiles, servingWorkers, WorkerDirectory, type LiveWorker } from './workers.js';

let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('WorkerDirectory.live', () => {
  it('forgets a worker that stopped beating, and answers all the same while Redis refuses writes (read-only: a failover)', async () => {
    const info = (id: string) => JSON.stringify({ id, host: 'h', pid: 1, device: 'cpu', heartbeat_ms: 1000, models: [] });
    const seed = async () => {
      await redis.zadd(WORKERS_SEEN_KEY, Date.now() - 60_000, 'gone', Date.now(), 'here');
      await redis.hset(WORKERS_INFO_KEY, 'gone', info('gone'), 'here', info('here'));
    };
    await seed();
    expect((await new WorkerDirectory(redis).live(true)).map((w) => w.id)).toEqual(['here']);
    expect(await redis.zrange(WORKERS_SEEN_KEY, '0', '-1')).toEqual(['here']);
    await seed();
    await redis.replicaof('127.0.0.1', String(await freePort()));
    try {
      // The forgetting is refused (EXECABORT: READONLY); the read is answered, the entry left for later.
      expect((await new WorkerDirectory(redis).live(true)).map((w) => w.id)).toEqual(['here']);
      expect(await redis.zrange(WORKERS_SEEN_KEY, '0', '-1')).toEqual(['gone', 'here']);
    } finally {
      await redis.replicaof('NO', 'ONE');
    }
  });
});

describe('WorkerDirectory.metrics', () => {
  it("reads a live worker's metrics and a cleanly stopped one's within the linger, never an older one's, and writes nothing", async () => {
    await redis.flushall();
    const info = JSON.stringify({ id: 'live', host: 'h', pid: 1, device: 'cpu', heartbeat_ms: 1000, models: [] });
    await redis.zadd(WORKERS_SEEN_KEY, Date.now(), 'live');
    await redis.hset(WORKERS_INFO_KEY, 'live', info);
    await redis.zadd(WORKERS_GONE_KEY, Date.now() - 1000, 'left-now', Date.now() - WORKER_METRICS_LINGER_MS - 1000, 'left-long-ago');
    await redis.hset(WORKERS_METRICS_KEY, 'live', '[1]', 'left-now', '[2]', 'left-long-ago', '[3]');
    const changes = async () => Number(/rdb_changes_since_last_save:(\d+)/.exec(await redis.info('persistence'))![1]);
    const before = await changes();
    const read = await new WorkerDirectory(redis).metrics();
    expect(read.sort((a, b) => a.id.localeCompare(b.id))).toEqual([{ id: 'left-now', metrics: [2] }, { id: 'live', metrics: [1] }]);
    // The old entry stays for a heartbeat's FORGET_GONE_LUA: the scrape wrote nothing.
    expect(await redis.zrange(WORKERS_GONE_KEY, '0', '-1')).toEqual(['left-long-ago', 'left-now']);
    expect(await changes()).toBe(before);
  });
});

describe('refusalsOf', () => {
  const worker = (id: string, refused?: Record<string, string>): LiveWorker => ({ id, host: 'h', pid: 1, device: 'cpu', heartbeat_ms: 500, models: [], ...(refused ? { refused } : {}) });
  const live = [
    worker('w1', { 'gpu:1': 'runner cannot be opened: cuda missing', 'gpu:2': 'runner cannot be opened: cuda missing', 'gpu-two:1': 'other model' }),
    worker('w2'),
    worker('w3', { 'gpu:1': 'runner cannot be opened: out of memory' }),
  ];

  it("names each worker's reason for the model's versions, or for one version", () => {
    expect(refusalsOf(live, 'gpu')).toBe('w1: gpu:1 runner cannot be opened: cuda missing; w1: gpu:2 runner cannot be opened: cuda missing; w3: gpu:1 runner cannot be opened: out of memory');
    expect(refusalsOf(live, 'gpu', 2)).toBe('w1: gpu:2 runner cannot be opened: cuda missing');
    expect(refusalsOf(live, 'gpu-two')).toBe('w1: gpu-two:1 other model');
    expect(refusalsOf(live, 'mlp')).toBe('');
  });
});

describe('servedFiles', () => {
  const worker = (models: LiveWorker['models']): LiveWorker => ({ id: 'w', host: 'h', pid: 1, device: 'cpu', heartbeat_ms: 500, models });
  const served = (digest?: string) => ({ model: 'mlp', version: 1, provider: 'cpu', ...(digest ? { digest } : {}) });

  it('tells the same files, other files, files a worker does not name (an older release: the same), and none', () => {
    expect(servedFiles(worker([served('d1')]), 'mlp', 1, 'd1')).toBe('same');
    expect(servedFiles(worker([served('d2')]), 'mlp', 1, 'd1')).toBe('other');
    expect(servedFiles(worker([served()]), 'mlp', 1, 'd1')).toBe('same');
    expect(servedFiles(worker([served('d1')]), 'mlp', 2, 'd1')).toBe('none');
    expect(servedFiles(worker([]), 'mlp', 1, undefined)).toBe('none');
  });
});

describe('servingWorkers', () => {
  const worker = (id: string, models: LiveWorker['models']): LiveWorker => ({ id, host: 'h', pid: 1, device: 'cpu', heartbeat_ms: 500, models });
  const live = [
    worker('w1', [{ model: 'mlp', version: 1, provider: 'cpu' }, { model: 'penguins', version: 2, provider: 'cpu' }]),
    worker('w2', [{ model: 'penguins', version: 2, provider: 'cuda' }]),
    worker('w3', []),
  ];

  it('lists each worker serving the version, with its provider, and none for a version no worker serves', () => {
    expect(servingWorkers(live, 'penguins', 2).map(({ worker: w, provider }) => `${w.id}:${provider}`)).toEqual(['w1:cpu', 'w2:cuda']);
    expect(servingWorkers(live, 'mlp', 1).map(({ worker: w }) => w.id)).toEqual(['w1']);
    expect(servingWorkers(live, 'penguins', 1)).toEqual([]);
    // a draining worker takes no job: it serves nothing
    expect(servingWorkers([...live, { ...worker('w4', [{ model: 'mlp', version: 1, provider: 'cpu' }]), draining: true }], 'mlp', 1).map(({ worker: w }) => w.id)).toEqual(['w1']);
    expect(servingWorkers(live, 'fixed', 1)).toEqual([]);
  });
});
