/**
 * A worker whose link to Redis breaks as networks break it; its connections go through a TCP
 * proxy in this process (harness/tcp-proxy.ts). Real redis-server, API and worker.
 *
 * - Half-open: its commands reach Redis but Redis's replies do not (a proxy or sidecar that holds
 *   them: a network audit's "stalldown"). Its liveness beats kept reaching Redis, one every third
 *   of the TTL, though none was answered, so it was never seen dead, and a job whose fetch reply
 *   it never got waited out its 30 s lock. Now it sends no beat while the last one is unanswered:
 *   its entry expires a TTL after the last renewal Redis ran, and live workers release its jobs
 *   (sweeper.ts).
 * - A reply lost to a reset (the same audit: 1 of 6 trials of a 0.3 s RST): Redis ran the fetch
 *   script and locked a job under the worker's token, the answer never came, and ioredis sent
 *   the fetch again once it had reconnected, which took another job or none. The first job sat in
 *   `active` under a lock no one held until the lock expired (WORKER_LOCK_MS, 30 s). Now a fetch
 *   whose connection was reset before it answered hands back every job locked under its token
 *   but the one it brought (liveness/lost-fetches.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceQueueName, WORKERS_ALIVE_KEY } from '@maas/shared';
import { call, Cluster, eventually, RedisLinkProxy } from '../src/harness/index.js';

let cluster: Cluster;
const proxy = new RedisLinkProxy();
beforeAll(async () => {
  cluster = await Cluster.start({ workers: 0 });
  await proxy.start(new URL(cluster.redis.url));
});
afterAll(async () => {
  await cluster?.stop();
  await proxy.stop();
});

describe('a worker whose link delivers its commands but not Redis\'s replies', () => {
  it('is seen dead a TTL after its last renewal (its beats went on reaching Redis unanswered, so it never was)', async () => {
    const worker = await cluster.startWorker({ WORKER_MODELS: 'penguins', REDIS_URL: proxy.through(cluster.redis.url), WORKER_ALIVE_TTL_MS: '1500' });
    const id = worker.name;
    const redis = cluster.redisClient();
    try {
      const redisNow = async () => {
        const [s, us] = await redis.time();
        return Number(s) * 1000 + Math.floor(Number(us) / 1000);
      };
      const expiresIn = async () => Number(await redis.zscore(WORKERS_ALIVE_KEY, id)) - (await redisNow());
      expect(await expiresIn()).toBeGreaterThan(0);
      proxy.hold();
      // Expired, and staying so: no renewal lands after the one in flight when the replies stopped.
      await eventually(expiresIn, (ms) => ms < 0, { ms: 8000, every: 200, what: `${id}'s liveness entry to expire` });
      await new Promise((r) => setTimeout(r, 1500));
      expect(await expiresIn()).toBeLessThan(0);
      // Replies flow again (those held, then the rest): it renews, alive once more.
      proxy.release();
      await eventually(expiresIn, (ms) => ms > 0, { ms: 15_000, every: 200, what: `${id} to renew once its link answers` });
    } finally {
      redis.disconnect();
      await cluster.stopWorker(worker);
    }
  });
});

describe('a worker whose fetch reply is lost to a reset', () => {
  it('hands the job the lost reply locked back once the fetch sent again answers, not after its lock expires', async () => {
    // A lock far longer than the test waits: the job must not come back through its expiry.
    const worker = await cluster.startWorker({ WORKER_MODELS: 'penguins', REDIS_URL: proxy.through(cluster.redis.url), WORKER_LOCK_MS: '60000' });
    const queue = inferenceQueueName('penguins', 2);
    const redis = cluster.redisClient();
    try {
      // The worker is idle: its blocking connection waits on the queue's marker, the fetch script behind.
      await new Promise((r) => setTimeout(r, 1000));
      const cut = proxy.cutReply((sent) => sent.toLowerCase().includes('bzpopmin') && sent.includes(queue));
      const created = await call(cluster.url, 'POST', '/v1/jobs', { model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] }] });
      expect(created.status).toBe(202);
      await cut;
      const started = Date.now();
      const job = await eventually(
        async () => (await call(cluster.url, 'GET', `/v1/jobs/${created.body.id}`)).body,
        (j) => j.status === 'succeeded',
        { ms: 40_000, every: 100, what: 'the job to succeed after its fetch reply was lost' },
      );
      // Back once the fetch sent again answers (its wait times out: 5 s), not when the lock expires (60 s).
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(job.outputs).toBeDefined();
      // Nothing left locked in active.
      expect(await redis.llen(`maas:${queue}:active`)).toBe(0);
    } finally {
      redis.disconnect();
      await cluster.stopWorker(worker);
    }
  });
});
