/**
 * The ledger's scripts and relay on a real redis-server: first writer wins, a cancel never
 * ends a held job, entries are relayed once by their writer or after the lease by a sweeper.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../src/logger.js';
import { cancelJob, cancelMember, chunkLanded, claimUploadRemoval, expireJob, markUploaded, recordChunks, recordJobEndings, recordJobStarts } from '../src/ledger/record.js';
import { OutboxRelay } from '../src/ledger/relay.js';
import { batchCounts, keptCounts, readBatch } from '../src/views/batch.js';
import { batchKeys, batchSlot, bullJobKey, bullLockKey, canceledKey, OUTBOX_SLOTS_KEY, outboxKeys, PREFIX } from '../src/queues.js';
import { startRedisServer, type RedisServer } from '../src/redis-server.js';
import { CANCELED_BEFORE_IT_RAN, decodeJobError } from '../src/payloads.js';
import type { WebhookEmitter } from '../src/webhooks/emitter.js';
import type { WebhookEventInput } from '../src/webhooks/events.js';

let server: RedisServer;
let redis: Redis;
const Q = '{infer-m-v1}';
const log = { warn: () => {}, error: () => {}, info: () => {}, debug: () => {} } as unknown as Logger;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

const event = (subject: string, type: 'job.completed' | 'job.start' = 'job.completed'): WebhookEventInput =>
  ({ type, tenant: 't', subject, url: 'https://x.test/h', data: { id: subject } as never });
const job = (id: string) => redis.hset(bullJobKey(Q, id), { timestamp: 1, data: '{}' });

/** A relay whose emitter records what it was asked to queue. */
function relayRecording(fail = false) {
  const emitted: WebhookEventInput[] = [];
  const emitter = { emit: async (e: WebhookEventInput) => { if (fail) throw new Error('redis down'); emitted.push(e); return 'msg'; } };
  return { emitted, relay: new OutboxRelay(redis, emitter as unknown as WebhookEmitter, log, 1000) };
}

describe('recordJobEndings', () => {
  it('the first ending recorded wins; a second changes nothing and queues no event', async () => {
    await job('a');
    await job('b');
    const first = await recordJobEndings(redis, Q, [
      { jobId: 'a', ending: { state: 'completed' }, event: event('a') },
      { jobId: 'b', ending: { state: 'completed' }, event: null },
      { jobId: 'gone', ending: { state: 'completed' }, event: event('gone') },
    ]);
    expect(first.recorded).toEqual([{ won: true }, { won: true }, { won: false, ending: null }]);
    expect(first.items.map((i) => i.id)).toHaveLength(1);
    const again = await recordJobEndings(redis, Q, [{ jobId: 'a', ending: { state: 'failed', error: { type: 'internal', message: 'y' } }, event: event('a') }]);
    expect(again).toEqual({ recorded: [{ won: false, ending: { state: 'completed' } }], items: [] });
    expect(await redis.zcard(outboxKeys(Q).due)).toBe(1);
    expect(await redis.exists(bullJobKey(Q, 'gone'))).toBe(0); // no record made up for a removed job
  });
});

describe('recordJobEndings: a completion keeps its result', () => {
  it('a later writer for the same job gets the recorded completion with its result; a failure keeps none', async () => {
    await job('r1');
    await job('r2');
    const result = JSON.stringify({ v: 1, outputs: [], metrics: { worker: 'wrk_first' } });
    expect((await recordJobEndings(redis, Q, [{ jobId: 'r1', ending: { state: 'completed' }, event: null, result }])).recorded).toEqual([{ won: true }]);
    const later = await recordJobEndings(redis, Q, [
      { jobId: 'r1', ending: { state: 'failed', error: { type: 'expired', message: 'late' } }, event: null },
      { jobId: 'r2', ending: { state: 'failed', error: { type: 'internal', message: 'x' } }, event: null },
    ]);
    expect(later.recorded).toEqual([{ won: false, ending: { state: 'completed' }, result }, { won: true }]);
    expect((await recordJobEndings(redis, Q, [{ jobId: 'r2', ending: { state: 'completed' }, event: null, result }])).recorded)
      .toEqual([{ won: false, ending: { state: 'failed', error: { type: 'internal', message: 'x' } } }]);
    expect((await recordJobEndings(redis, Q, [{ jobId: 'nope', ending: { state: 'completed' }, event: null }])).recorded).toEqual([{ won: false, ending: null }]);
  });
});

describe('cancelJob', () => {
  it('a queued job is ended as canceled with its event, once; a held one is only marked', async () => {
    await job('q');
    await job('h');
    await redis.set(bullLockKey(Q, 'h'), 'token');
    const queued = await cancelJob(redis, Q, 'q', 60_000, event('q'));
    expect(queued.verdict).toBe('canceled');
    expect(queued.items).toHaveLength(1);
    expect(await redis.sismember(OUTBOX_SLOTS_KEY, Q)).toBe(1);
    expect(await cancelJob(redis, Q, 'q', 60_000, event('q'))).toEqual({ verdict: 'canceled', items: [] });
    // the worker that reaches it finds the cancel recorded first
    expect((await recordJobEndings(redis, Q, [{ jobId: 'q', ending: { state: 'completed' }, event: event('q') }])).recorded).toEqual([{ won: false, ending: { state: 'canceled' } }]);
    const held = await cancelJob(redis, Q, 'h', 60_000, event('h'));
    expect(held).toEqual({ verdict: 'running', items: [] });
    expect(await redis.zscore(canceledKey(Q), 'h')).not.toBeNull();
    expect(await redis.hget(bullJobKey(Q, 'h'), 'ended')).toBeNull();
    // the queued one carries BullMQ's deferred failure; the held one runs on
    expect(decodeJobError((await redis.hget(bullJobKey(Q, 'q'), 'defa')) ?? undefined)).toEqual(CANCELED_BEFORE_IT_RAN);
    expect(await redis.hget(bullJobKey(Q, 'h'), 'defa')).toBeNull();
    await redis.hset(bullJobKey(Q, 'f'), { timestamp: 1, finishedOn: 2 });
    expect((await cancelJob(redis, Q, 'f', 60_000, event('f'))).verdict).toBe('finished');
    expect((await cancelJob(redis, Q, 'nope', 60_000, event('nope'))).verdict).toBe('gone');
  });
});

describe('a queued job canceled through cancelJob, then fetched by a BullMQ Worker', () => {
  it('fails at its fetch with the cancel as its reason, never reaching the processor', async () => {
    const connection = new Redis(server.url, { maxRetriesPerRequest: null });
    const queue = new Queue(Q, { connection, prefix: PREFIX });
    const ran: string[] = [];
    const failed: { id: string; reason: string; finishedOn?: number }[] = [];
    try {
      await queue.add('infer', {}, { jobId: 'c1' });
      await queue.add('infer', {}, { jobId: 'c2' });
      expect((await cancelJob(redis, Q, 'c1', 60_000, null)).verdict).toBe('canceled');
      const worker = new Worker(Q, async (job) => { ran.push(job.id!); return 'ok'; }, { connection, prefix: PREFIX, autorun: false });
      worker.on('failed', (job, err) => job && failed.push({ id: job.id!, reason: err.message, ...(job.finishedOn ? { finishedOn: job.finishedOn } : {}) }));
      void worker.run();
      const deadline = Date.now() + 10_000;
      while ((ran.length < 1 || failed.length < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await worker.close();
      expect(ran).toEqual(['c2']);
      expect(failed).toEqual([{ id: 'c1', reason: expect.any(String), finishedOn: expect.any(Number) }]);
      expect(decodeJobError(failed[0]!.reason)).toEqual(CANCELED_BEFORE_IT_RAN);
      expect(await queue.getJobState('c1')).toBe('failed');
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});

describe('cancelMember', () => {
  it('marks a member only while its carrier is queued; never the carrier itself, never an outbox entry', async () => {
    await job('c');
    expect(await cancelMember(redis, Q, 'c', 'm1', 60_000, 1000)).toBe('canceled');
    expect(await cancelMember(redis, Q, 'c', 'm1', 60_000, 2000)).toBe('canceled'); // a repeat keeps the first time
    expect(await redis.zscore(canceledKey(Q), 'm1')).toBe('1000');
    expect(await redis.zscore(canceledKey(Q), 'c')).toBeNull();
    expect(await redis.hget(bullJobKey(Q, 'c'), 'ended')).toBeNull();
    expect(await redis.zcard(outboxKeys(Q).due)).toBe(0);
    await redis.set(bullLockKey(Q, 'c'), 'token');
    expect(await cancelMember(redis, Q, 'c', 'm2', 60_000)).toBe('running');
    await redis.hset(bullJobKey(Q, 'c'), { finishedOn: 5 });
    expect(await cancelMember(redis, Q, 'c', 'm3', 60_000)).toBe('finished');
    expect(await redis.zscore(canceledKey(Q), 'm2')).toBeNull();
    expect(await redis.zscore(canceledKey(Q), 'm3')).toBeNull();
    expect(await cancelMember(redis, Q, 'nope', 'm4', 60_000)).toBe('gone');
  });
});

describe('recordJobStarts', () => {
  it('queues no job.start for a job already ended; one canceled while fetched still gets its start (it is about to run)', async () => {
    await Promise.all(['s', 'e', 'c'].map(job));
    await recordJobEndings(redis, Q, [{ jobId: 'e', ending: { state: 'completed' }, event: null }]);
    await redis.zadd(canceledKey(Q), 1, 'c');
    const items = await recordJobStarts(redis, Q, ['s', 'e', 'c'].map((id) => ({ jobId: id, event: event(id, 'job.start') })));
    expect(items.map((i) => JSON.parse(i.entry).event.subject)).toEqual(['s', 'c']);
  });
});

describe('OutboxRelay', () => {
  it("relays a writer's entries at once and removes them; a sweeper takes nothing before the lease", async () => {
    await job('a');
    const { emitted, relay } = relayRecording();
    const { items } = await recordJobEndings(redis, Q, [{ jobId: 'a', ending: { state: 'completed' }, event: event('a') }], Date.now(), 1000);
    await relay.relay(Q, items);
    expect(emitted.map((e) => e.subject)).toEqual(['a']);
    expect(await redis.exists(outboxKeys(Q).due, outboxKeys(Q).events)).toBe(0);
  });

  it('an entry whose writer died (or failed to relay) is relayed by a sweeper once its lease ran out', async () => {
    await job('a');
    await redis.sadd(OUTBOX_SLOTS_KEY, Q);
    const t0 = Date.now();
    const { items } = await recordJobEndings(redis, Q, [{ jobId: 'a', ending: { state: 'completed' }, event: event('a') }], t0, 1000);
    const broken = relayRecording(true);
    await broken.relay.relay(Q, items); // Redis "failed": the entry stays
    expect(await redis.zcard(outboxKeys(Q).due)).toBe(1);
    const { emitted, relay } = relayRecording();
    expect(await relay.sweep(t0 + 500)).toBe(0); // still leased to its writer
    expect(await relay.sweep(t0 + 1001)).toBe(1);
    expect(emitted.map((e) => e.subject)).toEqual(['a']);
    expect(await relay.sweep(t0 + 5000)).toBe(0); // removed once relayed
  });

  it("relays a batch's batch.completed from its stored state, then forgets the batch's outbox", async () => {
    const k = batchKeys('batch_1');
    await redis.hset(k.meta, { uploaded: 1, chunks_total: 1, status: 'running', webhook: 'https://x.test/b', tenant: 't', model: 'm', version: '1', total: 1 });
    const t0 = Date.now();
    const done = await recordChunks(redis, 'batch_1', 60, ['0', 's:1', ''], t0, 1000);
    expect(done.completed).toBe(true);
    expect(await redis.sismember(OUTBOX_SLOTS_KEY, batchSlot('batch_1'))).toBe(1);
    const { emitted, relay } = relayRecording();
    expect(await relay.sweep(t0 + 1001)).toBe(1);
    expect(emitted[0]).toMatchObject({ type: 'batch.completed', subject: 'batch_1', tenant: 't', data: { id: 'batch_1', status: 'succeeded' } });
    await relay.sweep(t0 + 2000);
    expect(await redis.sismember(OUTBOX_SLOTS_KEY, batchSlot('batch_1'))).toBe(0);
  });

  it('a batch without a webhook queues no entry', async () => {
    const k = batchKeys('batch_2');
    await redis.hset(k.meta, { uploaded: 1, chunks_total: 1, status: 'running', webhook: '', tenant: 't' });
    expect((await recordChunks(redis, 'batch_2', 60, ['0', 's:1', ''])).completed).toBe(true);
    expect(await redis.exists(outboxKeys(batchSlot('batch_2')).due)).toBe(0);
  });
});

describe('recordChunks: how a batch ends', () => {
  const uploaded = (id: string, chunks: number, total: number) =>
    redis.hset(batchKeys(id).meta, { uploaded: 1, chunks_total: chunks, status: 'queued', webhook: '', tenant: 't', model: 'm', version: '1', total, created_at: 1 });
  const meta = (id: string) => redis.hgetall(batchKeys(id).meta);
  const failed = (type: string) => `f:2:${JSON.stringify({ type, message: 'x' })}`;

  it('succeeded when any line succeeded, a partly failed chunk included; no error', async () => {
    await uploaded('b_ok', 2, 5);
    await recordChunks(redis, 'b_ok', 60, ['0', failed('worker-lost'), '', '1', `p:3:${JSON.stringify({ 0: { type: 'inference-failed', message: 'y' } })}`, '']);
    expect(await meta('b_ok')).toMatchObject({ status: 'succeeded' });
    expect((await meta('b_ok'))['error']).toBeUndefined();
  });

  it('failed when no line succeeded, its error the type of a failed chunk first, then of a failed line', async () => {
    await uploaded('b_chunk', 2, 4);
    await recordChunks(redis, 'b_chunk', 60, ['0', `p:2:${JSON.stringify({ 0: { type: 'inference-failed', message: 'y' }, 1: { type: 'inference-failed', message: 'z' } })}`, '', '1', failed('worker-lost'), '']);
    const m = await meta('b_chunk');
    expect(m['status']).toBe('failed');
    expect(JSON.parse(m['error']!)).toEqual({ type: 'worker-lost', message: "none of its 4 lines succeeded: each line's error is in its results" });

    await uploaded('b_line', 1, 2);
    await recordChunks(redis, 'b_line', 60, ['0', `p:2:${JSON.stringify({ 0: { type: 'inference-failed', message: 'y' }, 1: { type: 'inference-failed', message: 'z' } })}`, '']);
    expect(JSON.parse((await meta('b_line'))['error']!)).toMatchObject({ type: 'inference-failed' });
  });

  it('every line invalid: succeeded (a bad line fails alone, CONTRACT §4), no error, and never running: no worker took a chunk', async () => {
    await uploaded('b_invalid', 2, 3);
    await recordChunks(redis, 'b_invalid', 60, ['0', 's:0', '', '1', 's:0', '']); // the API's records of chunks with no rows
    const m = await meta('b_invalid');
    expect(m).toMatchObject({ status: 'succeeded', succeeded_lines: '0' });
    expect(m['started_at']).toBeUndefined();
    expect(m['error']).toBeUndefined();
  });

  it('a canceled batch stays canceled whatever ran', async () => {
    await uploaded('b_cancel', 1, 2);
    await redis.hset(batchKeys('b_cancel').meta, 'status', 'canceled');
    await recordChunks(redis, 'b_cancel', 60, ['0', 'c:2', '']);
    expect(await meta('b_cancel')).toMatchObject({ status: 'canceled' });
    expect((await meta('b_cancel'))['error']).toBeUndefined();
  });

  it("says how many outcomes were their chunk's first: a re-run's, or a second writer's, is none (it is counted once)", async () => {
    await uploaded('b_once', 3, 3);
    expect(await recordChunks(redis, 'b_once', 60, ['0', 's:1', ''])).toMatchObject({ completed: false, recorded: 1 });
    expect(await recordChunks(redis, 'b_once', 60, ['0', 's:1', ''])).toMatchObject({ completed: false, recorded: 0 }); // a re-run
    expect(await recordChunks(redis, 'b_once', 60, ['0', 'c:1', '', '1', 'c:1', '', '2', 'c:1', ''])).toMatchObject({ completed: true, recorded: 2 });
    expect(await recordChunks(redis, 'b_gone', 60, ['0', 's:1', ''])).toMatchObject({ completed: false, recorded: 0 });
  });

  it('keeps the counts as outcomes are recorded, equal to counting every outcome; each outcome counted once; a batch with outcomes it did not count is counted from them', async () => {
    await uploaded('b_count', 5, 12);
    await redis.hset(batchKeys('b_count').meta, 'invalid', 2);
    const lineErrors = `p:4:${JSON.stringify({ 1: { type: 'inference-failed', message: 'y' }, 3: { type: 'inference-failed', message: 'z' } })}`;
    await recordChunks(redis, 'b_count', 60, ['0', 's:3', '', '1', lineErrors, '']);
    await recordChunks(redis, 'b_count', 60, ['1', 's:4', '', '2', failed('worker-lost'), '']); // chunk 1 again: counted once
    const partly = await readBatch(redis, 'b_count');
    expect(partly.counts).toEqual({ total: 12, succeeded: 5, failed: 6 });
    expect(partly.counts).toEqual(batchCounts(partly.meta, await redis.hvals(batchKeys('b_count').chunks)));
    await recordChunks(redis, 'b_count', 60, ['3', 'c:1', '', '4', 's:0', '']);
    expect((await readBatch(redis, 'b_count')).counts).toEqual({ total: 12, succeeded: 5, failed: 7 });
    // an outcome recorded by a release that kept no counts: the counts are read from every outcome
    await redis.hset(batchKeys('b_count').chunks, '5', 's:9');
    expect((await readBatch(redis, 'b_count')).counts).toEqual({ total: 12, succeeded: 14, failed: 7 });
    expect(keptCounts(await meta('b_count'), 6)).toBeUndefined();
  });

  it('a worker\'s first outcome marks the batch running before it completes', async () => {
    await uploaded('b_run', 2, 4);
    await recordChunks(redis, 'b_run', 60, ['0', 's:0', '']);
    expect((await meta('b_run'))['status']).toBe('queued');
    await recordChunks(redis, 'b_run', 60, ['1', 's:0', '']);
    expect(await meta('b_run')).toMatchObject({ status: 'succeeded', failed_lines: '0' }); // nothing ran: every line failed its checks
    expect((await meta('b_run'))['started_at']).toBeUndefined();
    await uploaded('b_run2', 2, 4);
    await recordChunks(redis, 'b_run2', 60, ['0', 's:2', '']);
    expect(await meta('b_run2')).toMatchObject({ status: 'running' });
  });
});

describe('an upload\'s end and its removal exclude each other', () => {
  it('marked uploaded first: the removal is refused; removal claimed first: the mark is refused; a gone batch is neither marked nor recreated', async () => {
    await redis.hset(batchKeys('u1').meta, { tenant: 't', status: 'queued', uploaded: 0 });
    expect(await markUploaded(redis, 'u1', 0, { total: 3 })).toBe('marked');
    expect(await redis.hmget(batchKeys('u1').meta, 'uploaded', 'total')).toEqual(['1', '3']);
    expect(await claimUploadRemoval(redis, 'u1')).toBe(false);

    await redis.hset(batchKeys('u2').meta, { tenant: 't', status: 'queued', uploaded: 0 });
    expect(await claimUploadRemoval(redis, 'u2')).toBe(true);
    expect(await markUploaded(redis, 'u2', 0, { total: 3 })).toBe('removing');
    expect(await redis.hget(batchKeys('u2').meta, 'uploaded')).toBe('0');

    expect(await claimUploadRemoval(redis, 'u3')).toBe(true);
    expect(await markUploaded(redis, 'u3', 0, { total: 1 })).toBe('lost');
    expect(await redis.exists(batchKeys('u3').meta)).toBe(0);
  });

  it('is marked only once every chunk it queued has counted itself: a Redis that lost some meanwhile refuses it', async () => {
    await redis.hset(batchKeys('u4').meta, { tenant: 't', status: 'queued', uploaded: 0 });
    for (let i = 0; i < 6; i++) await chunkLanded(redis, 'u4'); // 2 of 8 lost with a restore
    expect(await markUploaded(redis, 'u4', 8, {})).toBe('lost');
    expect(await redis.hget(batchKeys('u4').meta, 'uploaded')).toBe('0');
    await chunkLanded(redis, 'u4');
    await chunkLanded(redis, 'u4');
    expect(await markUploaded(redis, 'u4', 8, {})).toBe('marked');
    expect(await redis.hmget(batchKeys('u4').meta, 'uploaded', 'chunks_total')).toEqual(['1', '8']);
    // A meta Redis lost is not made again by the chunks counted after: the upload is refused.
    for (let i = 0; i < 8; i++) await chunkLanded(redis, 'u5');
    expect(await redis.exists(batchKeys('u5').meta)).toBe(0);
    expect(await markUploaded(redis, 'u5', 8, {})).toBe('lost');
    expect(await redis.exists(batchKeys('u5').meta)).toBe(0);
  });
});

describe('expireJob', () => {
  it('expires a queued job never taken; one a worker took before (processedOn), whose worker died, is left to run', async () => {
    await job('never');
    expect((await expireJob(redis, Q, 'never', null)).verdict).toBe('expired');
    await job('taken');
    await redis.hset(bullJobKey(Q, 'taken'), 'processedOn', Date.now() - 5000); // no lock: its worker is gone
    expect((await expireJob(redis, Q, 'taken', null)).verdict).toBe('running');
    expect(await redis.hget(bullJobKey(Q, 'taken'), 'ended')).toBeNull();
  });
});
