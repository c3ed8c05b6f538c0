/**
 * The blocking fetch (apps/worker batching/blocking-fetch.ts): an idle worker's wait for a job
 * also takes the job. Seen with Redis's MONITOR: the job's `moveToActive` script comes from the
 * connection that was blocked on the queue's marker, right behind its `BZPOPMIN`, instead of
 * from the worker's other connection after a round trip, and the waiting connection makes no
 * fetch that finds nothing after it (the marker BullMQ adds back is dropped when nothing waits); with `WORKER_BLOCKING_FETCH=false`
 * it comes from the other one (BullMQ's own fetch). The job's times stay true: the script
 * stamps it with the time the wait began, which no view shows. And a worker told to stop still
 * runs a job its wait has just taken: BullMQ's close ends the blocking connection gracefully, so
 * an answer Redis wrote before it saw the end still arrives (a TCP proxy holds Redis's answers
 * to the worker across the moment it is told to stop).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { call, Cluster, eventually, monitorRedis, rows } from '../src/harness/index.js';

let cluster: Cluster | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  for (const c of cleanups.splice(0)) c();
});

/** A TCP proxy to Redis whose answers to its clients can be held, then let through in order. */
async function holdingProxy(port: number) {
  let holding = false;
  const held: (() => void)[] = [];
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => (holding ? held.push(() => client.write(chunk)) : client.write(chunk)));
    upstream.on('end', () => client.end());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold: () => void (holding = true),
    letThrough: () => {
      holding = false;
      for (const write of held.splice(0)) write();
    },
  };
}

const job = (seed: number) => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: rows(seed, 1, 32) }] });

interface Seen {
  source: string;
  args: string[];
}

/** The commands Redis ran while `during` ran, and after it until `until` holds of them (at most 3 s). */
async function monitored(port: number, during: () => Promise<void>, until: (seen: Seen[]) => boolean = () => true): Promise<Seen[]> {
  const seen: Seen[] = [];
  const monitor = await monitorRedis(port, ({ source, args }) => seen.push({ source, args }));
  try {
    await during();
    for (let waited = 0; waited < 3000 && !until(seen); waited += 20) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    monitor.stop();
  }
  return seen;
}

/** BullMQ's moveToActive: an EVALSHA of 11 keys, the last the queue's marker. */
const isMoveToActive = (c: Seen) => c.args[0]?.toLowerCase() === 'evalsha' && c.args[2] === '11' && c.args[13]?.endsWith(':marker') === true;
/** A wait on the mlp queue's marker (the webhooks queue's worker waits on its own, every 5 s). */
const isBzpopmin = (c: Seen) => c.args[0]?.toLowerCase() === 'bzpopmin' && c.args[1]?.endsWith('{infer-mlp-v1}:marker') === true;

/** One job sent to an idle worker; which connections waited and fetched, and the job object. */
async function oneJobToAnIdleWorker(env: Record<string, string>) {
  cluster = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'mlp', ...env } });
  for (let i = 0; i < 3; i++) expect((await call(cluster.url, 'POST', '/v1/jobs', job(i), { Prefer: 'wait=30' })).status).toBe(200);
  await new Promise((r) => setTimeout(r, 500)); // idle: the worker is blocked on the marker
  let answer: { status: number; body: any } | undefined;
  // until the worker waits again after the job (the wait that took it was sent before the monitor began)
  const waitsAgain = (seen: Seen[]) => seen.some(isBzpopmin);
  const seen = await monitored(cluster.redis.port, async () => {
    answer = await call(cluster!.url, 'POST', '/v1/jobs', job(7), { Prefer: 'wait=30' });
  }, waitsAgain);
  return { seen, answer: answer! };
}

describe('blocking fetch', () => {
  it("an idle worker's wait takes the job: moveToActive comes from the blocked connection, behind its BZPOPMIN", async () => {
    const started = Date.now();
    const { seen, answer } = await oneJobToAnIdleWorker({});
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('succeeded');
    const fetches = seen.filter(isMoveToActive);
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    const blocked = new Set(seen.filter(isBzpopmin).map((c) => c.source));
    // The fetch that took the job: the first one after the job was added.
    expect(blocked.has(fetches[0]!.source)).toBe(true);
    // And the blocked connection's only one: the marker BullMQ added back as it took the job was
    // dropped with nothing else waiting, so the worker's next wait blocks instead of popping it
    // and fetching nothing (its moveToActive waits behind that BZPOPMIN, unseen). Before, that
    // wait returned at once, its fetch found nothing, and a third wait followed.
    expect(seen.filter(isBzpopmin).length).toBe(1);
    expect(fetches.filter((c) => blocked.has(c.source)).length).toBe(1);
    // The drop goes by its SHA (its text went once, at the worker's first wait), not as an EVAL a wait.
    const fromBlocked = seen.filter((c) => blocked.has(c.source)).map((c) => c.args[0]?.toLowerCase());
    expect(fromBlocked).not.toContain('eval');
    expect(seen.some((c) => blocked.has(c.source) && c.args[0]?.toLowerCase() === 'evalsha' && c.args[2] === '3')).toBe(true);
    // Its times: started no earlier than created, and queue_ms what they say.
    const created = Date.parse(answer.body.created_at);
    const begun = Date.parse(answer.body.started_at);
    const completed = Date.parse(answer.body.completed_at);
    expect(created).toBeGreaterThanOrEqual(started);
    expect(begun).toBeGreaterThanOrEqual(created);
    expect(completed).toBeGreaterThanOrEqual(begun);
    expect(answer.body.metrics.queue_ms).toBeGreaterThanOrEqual(0);
    expect(answer.body.metrics.queue_ms).toBeLessThan(1000);
    // Read back from Redis (no completion event to answer from): the same times.
    const again = await call(cluster!.url, 'GET', `/v1/jobs/${answer.body.id}`);
    expect(again.body.started_at).toBe(answer.body.started_at);
  });

  it('with WORKER_BLOCKING_FETCH=false the job is fetched by BullMQ: moveToActive from the other connection', async () => {
    const { seen, answer } = await oneJobToAnIdleWorker({ WORKER_BLOCKING_FETCH: 'false' });
    expect(answer.body.status).toBe('succeeded');
    const fetches = seen.filter(isMoveToActive);
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    const blocked = new Set(seen.filter(isBzpopmin).map((c) => c.source));
    expect(blocked.size).toBeGreaterThanOrEqual(1);
    expect(blocked.has(fetches[0]!.source)).toBe(false);
  });

  it('a worker told to stop runs the job its wait has just taken (the answer is not lost with the connection)', async () => {
    cluster = await Cluster.start({ workers: 0 });
    const proxy = await holdingProxy(cluster.redis.port);
    const worker = await cluster.startWorker({ WORKER_MODELS: 'mlp', REDIS_URL: proxy.url });
    for (let i = 0; i < 3; i++) expect((await call(cluster.url, 'POST', '/v1/jobs', job(i), { Prefer: 'wait=30' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500)); // idle: the worker's wait (and its script) is in Redis
    proxy.hold();
    const created = await call(cluster.url, 'POST', '/v1/jobs', job(9));
    expect(created.status).toBe(202);
    // Redis ran the waiting script: the job is taken, and the answer saying so is held.
    await eventually(() => call(cluster!.url, 'GET', `/v1/jobs/${created.body.id}`), (r) => r.body.status === 'running', { ms: 5000, what: 'the job taken' });
    const exited = worker.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 300)); // the worker is closing: BullMQ's close has ended its blocking connection
    proxy.letThrough();
    // Run by this worker before it exits: not left for its 30 s lock to run out.
    const done = await call(cluster.url, 'GET', `/v1/jobs/${created.body.id}?wait=10`);
    expect(done.body.status).toBe('succeeded');
    expect(await exited).toBe(0);
  });
  it('after Redis was down for longer than its wait, an idle worker takes the next job at once', async () => {
    // The wait outlived its watchdog (5 s + 1 s): given up, its commands are sent again by ioredis
    // once Redis is back, and that abandoned fetch takes the next job and hands it back. BullMQ
    // puts it back without the queue's marker, so the job waited for the next wait's 5 s
    // timeout; and the worker's connections came back up to 5 s after Redis did.
    const dir = await mkdtemp(join(tmpdir(), 'maas-redis-'));
    cleanups.push(() => void rm(dir, { recursive: true, force: true }));
    cluster = await Cluster.start({ workers: 1, worker: { WORKER_MODELS: 'mlp' }, redisDir: dir });
    for (let i = 0; i < 3; i++) expect((await call(cluster.url, 'POST', '/v1/jobs', job(i), { Prefer: 'wait=30' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500)); // idle: the worker waits on the marker
    await cluster.redis.stop();
    await new Promise((r) => setTimeout(r, 7500));
    await cluster.redis.restart();
    await eventually(() => call(cluster!.url, 'GET', '/v2/health/ready'), (r) => r.status === 200, { ms: 5000, what: 'the API back on Redis' });
    await new Promise((r) => setTimeout(r, 1500)); // the worker's connections back too (at most a second apart)
    const answer = await call(cluster.url, 'POST', '/v1/jobs', job(8), { Prefer: 'wait=3' });
    expect(answer.body.status).toBe('succeeded');
    expect(answer.status).toBe(200);
  }, 40_000);
});
