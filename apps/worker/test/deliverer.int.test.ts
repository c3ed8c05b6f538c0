/**
 * A delivery whose reads before its POST meet a Redis that cannot answer (a cluster master
 * restarting: the delivery queue's master is up, the job's or secret's slot is not) goes again
 * within a second or two, without spending an attempt: the receiver was never asked. It took the
 * receiver's retry schedule before (an outage of seconds put it 5 minutes back).
 * Real redis-server, BullMQ and an HTTP receiver; the tenant secrets' reads fail twice, as a
 * cluster client's do while a slot's master is down.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, DeliveryStore, startRedisServer, TenantSecrets, WebhookEmitter, type RedisServer } from '@maas/shared';
import { WebhookDeliverer } from '../src/webhooks/deliverer.js';

let server: RedisServer;
let redis: Redis;
let receiver: Server;
let url = '';
const received: { at: number; id: string | undefined }[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ at: Date.now(), id: req.headers['webhook-id'] as string | undefined });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  receiver?.close();
  redis?.disconnect();
  await server?.stop();
});

describe('WebhookDeliverer, Redis failing before the POST', () => {
  it('puts the delivery back for a second without spending an attempt, and delivers it on attempt 1', async () => {
    const real = new TenantSecrets(redis);
    let failures = 2;
    const secrets = {
      keys: async (tenant: string) => {
        if (failures-- > 0) throw new Error('Too many Cluster redirections. Last error: Error: Connection is closed.');
        return real.keys(tenant);
      },
    };
    const deliverer = new WebhookDeliverer(
      { workerId: 'wrk_deliverer_test', redisUrl: server.url, secrets, schedule: [300_000, 300_000], timeoutMs: 5000, policy: { allowPrivate: true }, concurrency: 4 },
      redis, createLogger('deliverer-test', 'silent'),
    );
    const emitter = new WebhookEmitter(redis, 600);
    try {
      deliverer.start();
      const t0 = Date.now();
      const id = await emitter.emit({ type: 'job.completed', subject: 'job_deliverer_test', tenant: 'default', url, data: { id: 'job_deliverer_test' } } as never);
      for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(received.map((r) => r.id)).toEqual([id]);
      expect(received[0]!.at - t0).toBeLessThan(8000); // two waits of a second, not the receiver's 5 minutes
      const record = await new DeliveryStore(redis).get('job_deliverer_test', id);
      expect(record?.attempts.map((a) => a.attempt)).toEqual([1]); // the receiver's first attempt: none was spent on Redis
      expect(failures).toBe(-1);
    } finally {
      await deliverer.close();
      await emitter.close();
    }
  });
});
