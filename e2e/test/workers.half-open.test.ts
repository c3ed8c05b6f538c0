/**
 * A worker whose link to Redis delivers its commands but not Redis's replies (a half-open
 * connection, a proxy or sidecar that holds replies: a network audit's "stalldown"). Its
 * liveness beats kept reaching Redis, one every third of the TTL, though none was answered, so
 * it was never seen dead, and a job whose fetch reply it never got waited out its 30 s lock.
 * Now it sends no beat while the last one is unanswered: its entry expires a TTL after the
 * last renewal Redis ran, and live workers release its jobs (sweeper.ts). Real redis-server,
 * API and worker; the worker's connections go through a TCP proxy in this process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKERS_ALIVE_KEY } from '@maas/shared';
import { Cluster, eventually, RedisLinkProxy } from '../src/harness/index.js';

describe('a worker whose link delivers its commands but not Redis\'s replies', () => {
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
