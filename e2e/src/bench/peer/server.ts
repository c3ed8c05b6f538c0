/**
 * The hand-rolled peer the fast path is measured against (issue 11): what a team writes in an
 * afternoon. express + BullMQ `queue.add` + `waitUntilFinished`, no validation, no batching.
 * Started by the bench as its own process (PORT, REDIS_URL), with peer/worker.ts beside it.
 */
import express from 'express';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';

const redisUrl = process.env['REDIS_URL']!;
const queue = new Queue('peer', { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }) });
const events = new QueueEvents('peer', { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }) });
await events.waitUntilReady();

const app = express();
app.use(express.json({ limit: '64mb' }));
app.post('/v1/jobs', async (req, res) => {
  const job = await queue.add('infer', req.body, { removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } });
  const result = (await job.waitUntilFinished(events, 60_000)) as unknown;
  res.json({ id: job.id, status: 'succeeded', ...(result as object) });
});
app.listen(Number(process.env['PORT']), '127.0.0.1', () => console.log('peer listening'));
