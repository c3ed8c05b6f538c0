/**
 * CompletionEvents on a real redis-server with BullMQ's own Worker: the completion event its
 * completion script writes reaches the notifier with the stored result; a failure wakes waiters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectRedis, createLogger, PREFIX, startRedisServer, type RedisServer } from '@maas/shared';
import { CompletionEvents } from '../src/services/completion-events.js';
import { JobNotifier } from '../src/services/notifier.js';

let server: RedisServer;
const clients: Redis[] = [];
const log = createLogger('test', 'silent');
const connect = async (name: string) => {
  const c = await connectRedis(server.url, 'worker', name);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

describe('CompletionEvents', () => {
  it("hands BullMQ's stored result to the notifier as the job completes, and wakes a failed job's waiters", async () => {
    const notifier = await JobNotifier.start(await connect('sub'), log);
    const events = new CompletionEvents(connect, notifier, log);
    const queue = new Queue('{ce-q}', { connection: await connect('queue'), prefix: PREFIX });
    events.watch(queue.keys.events!);
    await new Promise((r) => setTimeout(r, 200)); // the loop has found the stream's end and blocks
    const worker = new Worker('{ce-q}', async (job) => {
      if (job.data.fail) throw new UnrecoverableError('no');
      return { v: 1, outputs: [], metrics: {}, completed: 42 };
    }, { connection: await connect('worker'), prefix: PREFIX });
    try {
      const okWoken = notifier.next('ok', 10_000);
      const badWoken = notifier.next('bad', 10_000);
      const t0 = Date.now();
      await queue.add('infer', {}, { jobId: 'ok' });
      await queue.add('infer', { fail: true }, { jobId: 'bad' });
      await Promise.all([okWoken, badWoken]);
      expect(Date.now() - t0).toBeLessThan(5000); // woken by the events, not by the 10 s timeout
      expect(notifier.result('ok')).toEqual({ v: 1, outputs: [], metrics: {}, completed: 42 });
      expect(notifier.result('bad')).toBeUndefined();
      expect(events.watching).toBe(1);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
      await notifier.close();
    }
  });
});
