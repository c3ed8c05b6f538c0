/**
 * A worker whose link to Redis delivers its commands but not Redis's replies (a half-open
 * connection, a proxy or sidecar that holds replies: a network audit's "stalldown"). Its
 * liveness beats kept reaching Redis, one every third of the TTL, though none was answered, so
 * it was never seen dead, and a job whose fetch reply it never got waited out its 30 s lock.
 * Now it sends no beat while the last one is unanswered: its entry expires a TTL after the
 * last renewal Redis ran, and live workers release its jobs (sweeper.ts). Real redis-server,
 * API and worker; the worker's connections go through a TCP proxy in this process.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKERS_ALIVE_KEY } from '@maas/shared';
import { Cluster, eventually } from '../src/harness/index.js';

/** Forwards to `target`; `hold()` keeps Redis's bytes from the client (its own still go) until `release()`, which sends them on in order. */
class ReplyHoldingProxy {
  private holding = false;
  private readonly held: [Socket, Buffer][] = [];
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  port = 0;

  async start(target: URL): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.sockets.delete(s));
      }
      client.on('data', (d) => upstream.write(d));
      upstream.on('data', (d) => {
        if (this.holding) this.held.push([client, d]);
        else client.write(d);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const [client, d] of this.held.splice(0)) client.write(d);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('a worker whose link delivers its commands but not Redis\'s replies', () => {
  let cluster: Cluster;
  const proxy = new ReplyHoldingProxy();
  beforeAll(async () => {
    cluster = await Cluster.start({ workers: 0 });
    await proxy.start(new URL(cluster.redis.url));
  });
  afterAll(async () => {
    await cluster?.stop();
    await proxy.stop();
  });

  it('is seen dead a TTL after its last renewal (its beats went on reaching Redis unanswered, so it never was)', async () => {
    const redisUrl = new URL(cluster.redis.url);
    redisUrl.port = String(proxy.port);
    const worker = await cluster.startWorker({ WORKER_MODELS: 'penguins', REDIS_URL: redisUrl.href, WORKER_ALIVE_TTL_MS: '1500' });
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
