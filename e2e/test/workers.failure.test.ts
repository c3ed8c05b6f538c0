/**
 * Failure paths of the worker fleet: a worker killed (SIGKILL) while it holds a batch loses no
 * job; SIGTERM drains what a worker holds and exits 0 (or, with Redis gone, gives up after a
 * while and exits 1, its jobs finished elsewhere); accepted jobs survive a restart of the API,
 * the workers and Redis (append-only file on).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { call, Cluster, eventually, heldRows, modelRepository, REPO_ROOT, rows, ServiceProcess, WebhookReceiver, WORKER_ENTRY } from '../src/harness/index.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const mlpJob = (data: number[][]) => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [data.length, 32], data }] });

/**
 * A cluster whose mlp batcher holds jobs for 6 s (it waits that long for a preferred run of
 * 1,024 rows), so a test can act while a worker holds them.
 */
async function slowBatchCluster(workerEnv: Record<string, string> = {}) {
  const repo = await modelRepository({ mlp: { max_queue_delay_ms: 6000, preferred_batch_sizes: [1024] } });
  const cluster = await Cluster.start({
    models: repo.dir,
    workers: 0,
    api: { WEBHOOK_ALLOW_PRIVATE: 'true' },
    worker: { WORKER_MODELS: 'mlp', WORKER_LOCK_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000', WEBHOOK_ALLOW_PRIVATE: 'true', ...workerEnv },
  });
  const conn = cluster.redisClient();
  const queue = new Queue('{infer-mlp-v1}', { prefix: 'maas', connection: conn });
  cleanups.push(async () => {
    await queue.close();
    conn.disconnect();
    await cluster.stop();
    await repo.remove();
  });
  return { cluster, queue };
}

const until = async (check: () => Promise<boolean>, ms: number, what: string): Promise<void> => {
  await eventually(check, (ok) => ok, { ms, what });
};

describe('worker killed mid-batch (SIGKILL)', () => {
  it('loses no job: another worker finishes them after the lock expires, and every job.completed arrives', async () => {
    const { cluster, queue } = await slowBatchCluster();
    const receiver = await WebhookReceiver.start();
    cleanups.push(() => receiver.close());
    const a = await cluster.startWorker();
    const withHook = (r: number[]) => ({ ...mlpJob([r]), webhook: receiver.url, webhook_events_filter: ['completed'] });
    const created = await Promise.all(rows(1, 300, 32).map((r) => call(cluster.url, 'POST', '/v1/jobs', withHook(r))));
    for (const c of created) expect(c.status).toBe(202);
    await until(async () => (await queue.getJobCounts('active')).active === 300, 10_000, 'worker A to hold all 300 jobs');
    await a.stop('SIGKILL');
    const killedAt = Date.now();
    const b = await cluster.startWorker();
    const done = await Promise.all(created.map((c) => call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=60`)));
    const seconds = (Date.now() - killedAt) / 1000;
    for (const d of done) {
      expect(d.body.status).toBe('succeeded');
      expect(d.body.metrics.worker).toBe(b.name);
    }
    console.log(`300 jobs held by a SIGKILLed worker finished ${seconds.toFixed(1)} s after the kill (lock 2 s, batch window 6 s)`);
    expect(await queue.getJobCounts('active', 'waiting', 'failed')).toEqual({ active: 0, waiting: 0, failed: 0 });
    // Each job's job.completed event, queued before the job was settled, carries its outputs.
    const byJob = new Map(done.map((d) => [d.body.id as string, d.body]));
    await receiver.until((got) => new Set(got.map((r) => r.id)).size >= 300, 20_000, '300 job.completed events');
    const events = receiver.received.map((r) => JSON.parse(r.body));
    expect(new Set(events.map((e) => e.data.id))).toEqual(new Set(byJob.keys()));
    for (const e of events) {
      expect(e.type).toBe('job.completed');
      expect(e.data).toMatchObject({ status: 'succeeded', outputs: byJob.get(e.data.id).outputs, metrics: { worker: b.name } });
    }
  });
});

/**
 * A webhook job and a one-line batch on a slow-batch cluster, and three workers in turn that
 * take both into their 6 s window and are killed: BullMQ's stall limit (2) fails the jobs when
 * the next worker finds them stalled a third time.
 */
async function jobsOverTheStallLimit(seed: number) {
  const { cluster, queue } = await slowBatchCluster();
  const receiver = await WebhookReceiver.start();
  cleanups.push(() => receiver.close());
  const job = await call(cluster.url, 'POST', '/v1/jobs', { ...mlpJob(rows(seed, 1, 32)), webhook: receiver.url, webhook_events_filter: ['completed'] });
  const body = rows(seed + 1, 2, 32).map((r) => JSON.stringify({ inputs: { input: r } })).join('\n');
  const batch = (await (await fetch(`${cluster.url}/v1/batches?model=mlp`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } })).json()) as { id: string };
  const waiting = call(cluster.url, 'GET', `/v1/jobs/${job.body.id}?wait=60`);
  for (let kill = 0; kill < 3; kill++) {
    const w = await cluster.startWorker();
    const held = async () => (await queue.getJobs(['active'])).filter((j) => j.processedBy === w.name).length === 2;
    await until(held, 15_000, `worker ${kill + 1} to hold both jobs`);
    await w.stop('SIGKILL');
  }
  return { cluster, queue, receiver, job, batch, waiting };
}

describe('a job whose workers keep dying (stall limit)', () => {
  it('fails as worker-lost once: its waiters, its webhook and its batch all learn of it', async () => {
    const { cluster, receiver, job, batch, waiting } = await jobsOverTheStallLimit(5);
    await cluster.startWorker();
    const failed = await waiting;
    expect(failed.body).toMatchObject({ status: 'failed', error: { type: 'worker-lost' } });
    let b: any;
    await until(async () => (b = (await call(cluster.url, 'GET', `/v1/batches/${batch.id}`)).body).completed_at !== null, 15_000, 'the batch to complete');
    expect(b.counts).toEqual({ total: 2, succeeded: 0, failed: 2 });
    expect(b).toMatchObject({ status: 'failed', error: { type: 'worker-lost' } }); // its one chunk was lost: no line succeeded
    const lines = (await (await fetch(`${cluster.url}/v1/batches/${batch.id}/results`)).text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.error.type)).toEqual(['worker-lost', 'worker-lost']);
    const [event] = await receiver.until((got) => got.length >= 1, 15_000, 'job.completed');
    expect(JSON.parse(event!.body)).toMatchObject({ type: 'job.completed', data: { id: job.body.id, status: 'failed', error: { type: 'worker-lost' } } });
  });
});

describe('a worker killed the instant BullMQ failed its jobs on its own (stall limit)', () => {
  it('another worker records the failures it missed: the batch completes, the job.completed arrives', async () => {
    const { cluster, queue, receiver, job, batch, waiting } = await jobsOverTheStallLimit(7);
    // The fourth worker finds the jobs over the stall limit, BullMQ fails them, and the worker
    // dies as it hears of it: before it records anything.
    const dying = await cluster.startWorker({ MAAS_TEST_DIE_AT: 'final-failure' });
    await until(async () => dying.child.exitCode !== null || dying.child.signalCode !== null, 20_000, 'the fourth worker to die at the failure');
    cluster.workers.splice(cluster.workers.indexOf(dying), 1);
    // BullMQ fails them one at a time as the worker fetches: it died hearing of the first.
    expect((await queue.getJobCounts('failed')).failed).toBeGreaterThanOrEqual(1);
    expect((await call(cluster.url, 'GET', `/v1/batches/${batch.id}`)).body.completed_at).toBeNull();
    await cluster.startWorker();
    let b: any;
    await until(async () => (b = (await call(cluster.url, 'GET', `/v1/batches/${batch.id}`)).body).completed_at !== null, 30_000, 'the batch to complete');
    expect(b.counts).toEqual({ total: 2, succeeded: 0, failed: 2 });
    const [event] = await receiver.until((got) => got.length >= 1, 30_000, 'job.completed');
    expect(JSON.parse(event!.body)).toMatchObject({ type: 'job.completed', data: { id: job.body.id, status: 'failed', error: { type: 'worker-lost' } } });
    expect((await waiting).body).toMatchObject({ status: 'failed', error: { type: 'worker-lost' } });
    expect((await call(cluster.url, 'GET', `/v1/jobs/${job.body.id}`)).body).toMatchObject({ status: 'failed', error: { type: 'worker-lost' } });
  });
});

describe('SIGTERM', () => {
  it('drains: held jobs run at once (no waiting for the batch window), then exit 0', async () => {
    const { cluster, queue } = await slowBatchCluster();
    const w = await cluster.startWorker();
    const created = await Promise.all(rows(2, 50, 32).map((r) => call(cluster.url, 'POST', '/v1/jobs', mlpJob([r]))));
    // Rows, not BullMQ jobs: creates of one turn may share a carrier job (job-packer.ts).
    await until(async () => heldRows(await queue.getJobs(['active'])) === 50, 10_000, 'the worker to hold 50 jobs');
    const t0 = Date.now();
    const code = await w.stop('SIGTERM');
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(4500); // well under the 6 s window: the drain did not wait for it
    for (const c of created) {
      const d = await call(cluster.url, 'GET', `/v1/jobs/${c.body.id}`);
      expect(d.body.status).toBe('succeeded');
      expect(d.body.metrics.worker).toBe(w.name);
    }
    expect(w.log).toMatch(/draining/);
    // Its last counts, the drained jobs' among them, stay in /metrics after it left (its series
    // were dropped at once, and whatever it ran since its last heartbeat was never counted).
    const text = (await call(cluster.url, 'GET', '/metrics')).body as string;
    const ran = [...text.matchAll(new RegExp(`^maas_jobs_processed_total\\{[^}]*outcome="succeeded"[^}]*worker="${w.name}"[^}]*\\} (\\d+)$`, 'gm'))];
    expect(ran.reduce((n, m) => n + Number(m[1]), 0)).toBe(50);
  });

  it('a SIGTERM while the worker is still starting (models loading) is held: it starts, then stops cleanly (exit 0)', async () => {
    const cluster = await Cluster.start({ workers: 0 });
    cleanups.push(() => cluster.stop());
    // The shipped repository (four versions): the signal comes once the first has loaded.
    const w = ServiceProcess.start('wrk_starting', WORKER_ENTRY, { MODEL_REPOSITORY: join(REPO_ROOT, 'models'), REDIS_URL: cluster.redis.url, WORKER_ID: 'wrk_starting' });
    cleanups.push(async () => void (await w.stop('SIGKILL')));
    await w.waitFor(/model loaded/, 60_000);
    expect(w.log).not.toMatch(/worker ready/);
    const code = await w.stop('SIGTERM');
    expect(code).toBe(0); // before: killed by the signal (exit null), Node's default
    expect(w.log).toMatch(/stop requested while starting/);
    expect(w.log).toMatch(/worker ready[\s\S]*worker stopped/);
  });

  it('the API stops cleanly too (exit 0), answering a pending long-poll first', async () => {
    const { cluster } = await slowBatchCluster();
    const r = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(3, 1, 32)));
    const poll = call(cluster.url, 'GET', `/v1/jobs/${r.body.id}?wait=30`);
    await new Promise((res) => setTimeout(res, 300));
    const code = await cluster.api.stop('SIGTERM');
    expect(code).toBe(0);
    expect((await poll).body.status).toBe('queued');
  });
});

/**
 * A cluster with a persisted Redis and one worker holding `jobs` one-row mlp jobs (a 6 s batch
 * window keeps them held), then Redis killed (after its AOF's everysec fsync).
 */
async function holdingWhileRedisDies(jobs: number, seed: number, workerEnv: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'maas-redis-'));
  const repo = await modelRepository({ mlp: { max_queue_delay_ms: 6000, preferred_batch_sizes: [1024] } });
  const cluster = await Cluster.start({ models: repo.dir, redisDir: dir, workers: 0, worker: { WORKER_MODELS: 'mlp', ...workerEnv } });
  cleanups.push(async () => {
    await cluster.stop();
    await repo.remove();
    await rm(dir, { recursive: true, force: true });
  });
  const w = await cluster.startWorker();
  const created = await Promise.all(rows(seed, jobs, 32).map((r) => call(cluster.url, 'POST', '/v1/jobs', mlpJob([r]))));
  const conn = cluster.redisClient();
  const queue = new Queue('{infer-mlp-v1}', { prefix: 'maas', connection: conn });
  try {
    await until(async () => heldRows(await queue.getJobs(['active'])) === jobs, 10_000, `the worker to hold ${jobs} jobs`);
  } finally {
    await queue.close();
    conn.disconnect();
  }
  await new Promise((res) => setTimeout(res, 1200)); // appendfsync everysec
  await cluster.redis.kill();
  return { cluster, w, created };
}

describe('SIGTERM while Redis is down', () => {
  it('the drain gives up after WORKER_DRAIN_REDIS_WAIT_MS (exit 1), and another worker finishes the held jobs once Redis is back', async () => {
    const { cluster, w, created } = await holdingWhileRedisDies(20, 8, { WORKER_LOCK_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000', WORKER_DRAIN_REDIS_WAIT_MS: '1500' });

    const t0 = Date.now();
    const code = await w.stop('SIGTERM', 20_000);
    const ms = Date.now() - t0;
    expect(code).toBe(1); // not a clean stop: nothing it ran could be recorded
    expect(ms).toBeGreaterThanOrEqual(1500);
    expect(ms).toBeLessThan(10_000); // before this guard it waited for Redis without end
    expect(w.log).toMatch(/Redis unreachable for 1500 ms while draining/);

    await cluster.redis.restart();
    const other = await cluster.startWorker();
    const done = await Promise.all(created.map((c) => call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=30`)));
    for (const d of done) {
      expect(d.body.status).toBe('succeeded');
      expect(d.body.metrics.worker).toBe(other.name);
    }
  });
});

describe('SIGTERM while Redis is away for a few seconds', () => {
  it('the drain waits for Redis, finishes the held jobs and exits 0 (it never exited: BullMQ waited for an end its connection, between reconnects, never sent)', async () => {
    const { cluster, w, created } = await holdingWhileRedisDies(12, 9, { WORKER_DRAIN_REDIS_WAIT_MS: '8000' });
    const stopping = w.stop('SIGTERM', 30_000);
    await new Promise((res) => setTimeout(res, 3000));
    await cluster.redis.restart();
    const t0 = Date.now();
    expect(await stopping).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const done = await Promise.all(created.map((c) => call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=20`)));
    for (const d of done) expect(d.body).toMatchObject({ status: 'succeeded', metrics: { worker: w.name } });
  });
});

describe('restarts with Redis persistence', () => {
  it('accepted jobs survive a restart of the API, the workers and Redis', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-redis-'));
    const cluster = await Cluster.start({ redisDir: dir, workers: 1, worker: { WORKER_MODELS: 'penguins' } });
    cleanups.push(async () => {
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    });
    // No mlp worker yet: these stay queued.
    const input = rows(4, 20, 32);
    const created = await Promise.all(input.map((r) => call(cluster.url, 'POST', '/v1/jobs', mlpJob([r]))));
    for (const c of created) expect(c.status).toBe(202);
    await new Promise((res) => setTimeout(res, 1200)); // appendfsync everysec

    expect(await cluster.api.stop('SIGTERM')).toBe(0);
    expect(await cluster.workers[0]!.stop('SIGTERM')).toBe(0);
    await cluster.redis.stop();
    await cluster.redis.restart();
    await cluster.startApi();
    await cluster.startWorker({ WORKER_MODELS: 'mlp,penguins' });

    const done = await Promise.all(created.map((c) => call(cluster.url, 'GET', `/v1/jobs/${c.body.id}?wait=30`)));
    for (const d of done) expect(d.body.status).toBe('succeeded');
  });

  it('a running worker and API carry on after Redis restarts under them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maas-redis-'));
    const cluster = await Cluster.start({ redisDir: dir, workers: 1 });
    cleanups.push(async () => {
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    });
    const before = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(5, 2, 32)), { Prefer: 'wait=10' });
    expect(before.body.status).toBe('succeeded');
    await cluster.redis.kill();
    await new Promise((res) => setTimeout(res, 500));
    await cluster.redis.restart();
    const after = await eventually(() => call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(6, 2, 32)), { Prefer: 'wait=10' }), (r) => r.status === 200, { ms: 30_000, every: 250, what: 'the API to serve again' });
    expect(after.body.status).toBe('succeeded');
    // The job accepted before the crash is still readable (AOF replayed).
    expect((await call(cluster.url, 'GET', `/v1/jobs/${before.body.id}`)).body.status).toBe('succeeded');
  });
});

describe('a Redis restarted empty (no persistence) under waiting clients', () => {
  it('a client waiting for a job it no longer holds hears 404 within seconds of its return, not at the end of its wait', async () => {
    const cluster = await Cluster.start({ workers: 0 });
    cleanups.push(() => cluster.stop());
    const created = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(9, 1, 32)));
    expect(created.status).toBe(202);
    const t0 = Date.now();
    const waiting = call(cluster.url, 'GET', `/v1/jobs/${created.body.id}?wait=60`);
    await new Promise((res) => setTimeout(res, 500));
    await cluster.redis.kill();
    await new Promise((res) => setTimeout(res, 300));
    await cluster.redis.restart();
    const answer = await waiting;
    expect(answer.status, JSON.stringify(answer.body)).toBe(404);
    expect(Date.now() - t0).toBeLessThan(20_000); // before: the whole 60 s wait
  });
});

describe('the API stopped while Redis is gone', () => {
  it('exits 0 within about 10 s of Redis being unreachable, after serving jobs (it waited for Redis without end)', async () => {
    const cluster = await Cluster.start({ workers: 1, api: { SHUTDOWN_GRACE_S: '5' } });
    cleanups.push(() => cluster.stop());
    const done = await call(cluster.url, 'POST', '/v1/jobs', { ...mlpJob(rows(7, 2, 32)), timeout_ms: 60_000 }, { Prefer: 'wait=10' });
    expect(done.body.status).toBe('succeeded');
    await cluster.redis.kill();
    await new Promise((res) => setTimeout(res, 300));
    const t0 = Date.now();
    const code = await cluster.apis[0]!.stop('SIGTERM', 40_000);
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(25_000);
    expect(cluster.apis[0]!.log).toMatch(/stopping without Redis/);
  });
});

describe('a Redis that holds its connections without answering (paused)', () => {
  it('readiness answers 503 within seconds and a scrape answers 200 with Redis down, instead of hanging', async () => {
    const cluster = await Cluster.start({ workers: 0 });
    cleanups.push(() => cluster.stop());
    const redis = cluster.redisClient();
    const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
    redis.disconnect();
    process.kill(pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const ready = await call(cluster.url, 'GET', '/v2/health/ready', undefined, {}, 15_000);
      expect(ready.status).toBe(503);
      expect(Date.now() - t0).toBeLessThan(5000);
      const scrape = await call(cluster.url, 'GET', '/metrics', undefined, {}, 15_000);
      expect(scrape.status).toBe(200);
      expect(scrape.body).toMatch(/^maas_redis_up 0$/m);
      expect(Date.now() - t0).toBeLessThan(12_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually(async () => (await call(cluster.url, 'GET', '/v2/health/ready')).status, (s) => s === 200, { what: 'ready again' });
  });

  it('a stop while Redis answers nothing ends all the same: the worker gives up its drain (exit 1), the API stops without Redis (exit 0); their connections still read ready', async () => {
    const cluster = await Cluster.start({ workers: 0 });
    cleanups.push(() => cluster.stop());
    const w = await cluster.startWorker({ WORKER_DRAIN_REDIS_WAIT_MS: '1500' });
    const redis = cluster.redisClient();
    const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
    redis.disconnect();
    process.kill(pid, 'SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 3000)); // their periodic passes (sweeps, beats) now wait on it
      const t0 = Date.now();
      const [worker, api] = await Promise.all([
        w.stop('SIGTERM', 40_000).then((code) => ({ code, ms: Date.now() - t0 })),
        cluster.apis[0]!.stop('SIGTERM', 40_000).then((code) => ({ code, ms: Date.now() - t0 })),
      ]);
      expect(worker.code).toBe(1); // before: both waited until Redis answered again (666 s in the audit)
      expect(worker.ms).toBeLessThan(10_000);
      expect(w.log).toMatch(/Redis unreachable for 1500 ms while draining/);
      expect(api.code).toBe(0);
      expect(api.ms).toBeLessThan(25_000); // API_DRAIN_REDIS_WAIT_MS (10 s) and a PING's second
      // Its closes end once their commands time out (REDIS_COMMAND_TIMEOUT_MS), or the drain gives up on Redis.
      expect(cluster.apis[0]!.log).toMatch(/stopping without Redis|api stopped/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });
});

describe('the API stopped while an upload is still arriving', () => {
  it('cuts it at the end of SHUTDOWN_GRACE_S and exits 0, leaving no batch behind', async () => {
    const cluster = await Cluster.start({ workers: 0, api: { SHUTDOWN_GRACE_S: '2' } });
    cleanups.push(() => cluster.stop());
    const line = `${JSON.stringify({ inputs: { features: [39.1, 18.7, 181, 3750] } })}\n`;
    let sent = 0;
    const slow = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((res) => setTimeout(res, 100));
        controller.enqueue(new TextEncoder().encode(line.repeat(10)));
        sent++;
      },
    });
    const upload = fetch(`${cluster.url}/v1/batches?model=penguins`, { method: 'POST', body: slow, headers: { 'content-type': 'application/x-ndjson' }, duplex: 'half' } as RequestInit)
      .then((r) => r.status, () => 'cut');
    await eventually(async () => sent, (n) => n > 5, { what: 'the upload under way' });
    const t0 = Date.now();
    expect(await cluster.apis[0]!.stop('SIGTERM', 30_000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await upload).toBe('cut');
    expect(cluster.apis[0]!.log).toMatch(/end of the shutdown grace: cut/);
    const redis = cluster.redisClient();
    try {
      await eventually(() => redis.keys('maas:{b-*'), (keys) => keys.length === 0, { ms: 10_000, what: 'the cut upload to leave nothing' });
    } finally {
      redis.disconnect();
    }
  });
});

describe('WORKER_DEVICE=cuda without a usable CUDA provider', () => {
  it('falls back to CPU with a logged warning and serves jobs', async () => {
    const cluster = await Cluster.start({ workers: 0 });
    cleanups.push(() => cluster.stop());
    const w = await cluster.startWorker({ WORKER_DEVICE: 'cuda', WORKER_MODELS: 'penguins' });
    expect(w.log).toMatch(/execution provider fell back/);
    expect(w.log).toMatch(/"provider":"cpu"/);
    expect(w.log).toMatch(/cuda: /);
    const r = await call(cluster.url, 'POST', '/v1/jobs', {
      model: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] }],
    }, { Prefer: 'wait=10' });
    expect(r.body).toMatchObject({ status: 'succeeded', outputs: expect.any(Array) });
  });
});

describe('priority', () => {
  it('a more urgent job (lower number) runs before those queued ahead of it', async () => {
    const repo = await modelRepository({ mlp: { max_batch_size: 1 } });
    const cluster = await Cluster.start({ models: repo.dir, workers: 0 });
    cleanups.push(async () => {
      await cluster.stop();
      await repo.remove();
    });
    const submit = (priority: number, seed: number) => call(cluster.url, 'POST', '/v1/jobs', { ...mlpJob(rows(seed, 1, 32)), priority });
    const routine = [];
    for (let i = 0; i < 6; i++) routine.push((await submit(500, i)).body.id as string);
    const urgent = (await submit(1, 99)).body.id as string;
    await cluster.startWorker({ WORKER_MODELS: 'mlp', WORKER_CONCURRENCY: '1' });
    const done = await Promise.all([urgent, ...routine].map((id) => call(cluster.url, 'GET', `/v1/jobs/${id}?wait=30`)));
    for (const d of done) expect(d.body.status).toBe('succeeded');
    const started = done.map((d) => Date.parse(d.body.started_at));
    expect(started[0]).toBeLessThanOrEqual(Math.min(...started.slice(1)));
    expect(done[0]!.body.priority).toBe(1);
  });
});
