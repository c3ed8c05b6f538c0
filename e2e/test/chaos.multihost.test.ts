/**
 * Multi-host chaos (issue 13, bullet 6): Redis, the API and two worker "hosts" each in their own
 * network namespace on one bridge (harness/netns.ts), under a steady load of jobs, some with
 * webhooks to a receiver in the test's namespace. Both workers serve jobs; then one worker's
 * link is cut while it provably holds jobs (the process keeps running, its connections hang,
 * nothing is reset). Its liveness beat stops reaching Redis, so the other worker releases its
 * jobs and runs them, long before the BullMQ lock (60 s here) would expire. The link comes
 * back: the cut-off worker's late completions of those jobs are refused, and it serves new jobs.
 * Every accepted job ends exactly once, with the outputs of a direct onnxruntime run, and its
 * job.completed event arrives under one webhook-id, describing that one ending.
 *
 * Needs root and iproute2; skips with the reason otherwise.
 */
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, JOB_EVENTS_CHANNEL, parseJobEvents, type JobEventMessage } from '@maas/shared';
import {
  API_ENTRY, call, eventually, modelRepository, NetnsLab, publicIds, rows, runAlone, SHIPPED_MODELS, WebhookReceiver, WORKER_ENTRY,
  type ServiceProcess,
} from '../src/harness/index.js';

const unavailable = await NetnsLab.unavailable();
if (unavailable) console.warn(`chaos.multihost skipped: ${unavailable}`);

const MLP = join(SHIPPED_MODELS, 'mlp/1/model.onnx');
const LOCK_MS = 60_000;
const ALIVE_TTL_MS = 1500;

interface Sent {
  id: string;
  row: number[];
  hooked: boolean;
}

describe.skipIf(unavailable !== null)(`two worker hosts, one cut off mid-load${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let lab: NetnsLab;
  let repo: Awaited<ReturnType<typeof modelRepository>>;
  let receiver: WebhookReceiver;
  let redis: Redis;
  let subscriber: Redis;
  let queue: Queue;
  /** every ending the workers announced to the API's waiters */
  const announced: JobEventMessage[] = [];
  let api = '';
  const procs: ServiceProcess[] = [];
  const workers: Record<'w1' | 'w2', ServiceProcess> = {} as never;

  beforeAll(async () => {
    const left = await NetnsLab.removeLeftovers();
    if (left.length) console.log(`removed namespaces left by an interrupted run: ${left.join(', ')}`);
    lab = await NetnsLab.create(['redis', 'api', 'w1', 'w2']);
    // Each worker waits up to 1 s to fill a run, so at any moment it holds the jobs of its window.
    repo = await modelRepository({ mlp: { max_queue_delay_ms: 1000, preferred_batch_sizes: [1024] } });
    receiver = await WebhookReceiver.start(0, lab.gateway);

    const redisHost = lab.address('redis');
    const redisServer = lab.spawn('redis', 'redis', 'redis-server', [
      '--port', '6379', '--bind', redisHost, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--protected-mode', 'no',
    ]);
    procs.push(redisServer);
    await redisServer.waitFor(/Ready to accept connections/, 10_000);
    const REDIS_URL = `redis://${redisHost}:6379`;
    const common = { MODEL_REPOSITORY: repo.dir, REDIS_URL, WEBHOOK_ALLOW_PRIVATE: 'true' };

    const apiProc = lab.spawn('api', 'api', process.execPath, [API_ENTRY], { ...common, HOST: lab.address('api'), PORT: '8080', GRPC_PORT: '8081' });
    procs.push(apiProc);
    await apiProc.waitFor(/api listening/);
    api = `http://${lab.address('api')}:8080`;
    for (const host of ['w1', 'w2'] as const) {
      const w = lab.spawn(host, `wrk_${host}`, process.execPath, [WORKER_ENTRY], {
        ...common, WORKER_ID: `wrk_${host}`, WORKER_MODELS: 'mlp', WORKER_HEARTBEAT_MS: '500',
        WORKER_ALIVE_TTL_MS: String(ALIVE_TTL_MS), WORKER_LOCK_MS: String(LOCK_MS), WORKER_STALLED_INTERVAL_MS: '500',
      });
      procs.push(w);
      workers[host] = w;
    }
    await Promise.all(Object.values(workers).map((w) => w.waitFor(/worker ready/, 60_000)));

    redis = createRedis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: false });
    queue = new Queue('{infer-mlp-v1}', { prefix: 'maas', connection: redis });
    subscriber = createRedis(REDIS_URL, { lazyConnect: false });
    subscriber.on('message', (_channel: string, message: string) => announced.push(...parseJobEvents(message)));
    await subscriber.subscribe(JOB_EVENTS_CHANNEL);
  });

  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    subscriber?.disconnect();
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await lab?.destroy();
    await receiver?.close();
    await repo?.remove();
  });

  const logs = () => procs.map((p) => `--- ${p.name}\n${p.log.slice(-3000)}`).join('\n');
  /** BullMQ jobs `worker` holds (a carrier of packed creates holds several public jobs: publicIds). */
  const heldJobs = async (worker: string) => (await queue.getJobs(['active'])).filter((j) => j.processedBy === worker).sort((a, b) => a.id!.localeCompare(b.id!));
  const heldBy = async (worker: string) => (await heldJobs(worker)).map((j) => j.id!);

  it('loses nothing: held jobs finish elsewhere within the liveness bound, once; the host rejoins; every event arrives', async () => {
    // A steady load: 6 single-row jobs every 50 ms, one in four with a webhook, in three
    // priorities: the API packs the creates of a turn (two under load) into one carrier job a
    // priority, so each tick is several BullMQ jobs for the two hosts to share. (With the
    // creates in one priority, a CI run saw w1 hold no job for 30 s.)
    const sent: Sent[] = [];
    const refused: number[] = [];
    let stop = false;
    let seq = 0;
    const load = (async () => {
      while (!stop) {
        const batch = Array.from({ length: 6 }, () => {
          const n = seq++;
          const row = rows(1000 + n, 1, 32)[0]!;
          const hooked = n % 4 === 0;
          const body = { model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: [row] }], priority: 1 + (n % 3), ...(hooked ? { webhook: receiver.url, webhook_events_filter: ['completed'] } : {}) };
          return { row, hooked, reply: call(api, 'POST', '/v1/jobs', body, {}, 10_000) };
        });
        for (const b of batch) {
          const r = await b.reply;
          if (r.status === 202) sent.push({ id: r.body.id, row: b.row, hooked: b.hooked });
          else refused.push(r.status);
        }
        await new Promise((res) => setTimeout(res, 50));
      }
    })();

    try {
      // 1. Both hosts serve jobs, and w1 holds some right now.
      const finishedBy = async () => {
        const done = await queue.getCompleted(0, 500);
        return new Set(done.map((j) => j.returnvalue?.metrics.worker));
      };
      await eventually(finishedBy, (s) => s.has('wrk_w1') && s.has('wrk_w2'), { ms: 30_000, what: 'both worker hosts to finish jobs', context: logs });
      await eventually(() => heldBy('wrk_w1'), (ids) => ids.length >= 4, { ms: 15_000, what: 'w1 to hold jobs' });

      // 2. Cut w1's link. What it holds once its last packets have landed is stuck with it.
      await lab.cut('w1');
      const cutAt = Date.now();
      let previous: string[] = [];
      const heldNow = await eventually(async () => {
        const now = await heldJobs('wrk_w1');
        const same = now.map((j) => j.id).join() === previous.join();
        previous = now.map((j) => j.id!);
        return same ? now : null;
      }, (jobs) => jobs !== null, { ms: 5000, every: 300, what: "w1's held jobs to settle" });
      const held = heldNow!.map((j) => j.id!); // BullMQ ids: what w1's log and the announcements name
      const heldPublic = heldNow!.flatMap(publicIds); // what clients ask for
      expect(held.length).toBeGreaterThan(0);

      // 3. The other host finishes them, while the link is still down and long before w1's locks expire.
      const recovered = await Promise.all(heldPublic.map((id) => call(api, 'GET', `/v1/jobs/${id}?wait=30`)));
      const recoverSeconds = (Date.now() - cutAt) / 1000;
      for (const r of recovered) expect(r.body, logs()).toMatchObject({ status: 'succeeded', metrics: { worker: 'wrk_w2' } });
      expect(Date.now() - cutAt).toBeLessThan(LOCK_MS); // so the liveness beat, not the lock, released them
      expect(workers.w2.log).toMatch(/released the jobs of a dead worker/);

      // 4. The link comes back; w1 rejoins and serves jobs sent from then on.
      await lab.restore('w1');
      const restoredAt = Date.now();
      const servedLate = async () => {
        const done = await queue.getCompleted(0, 300);
        return done.some((j) => j.returnvalue?.metrics.worker === 'wrk_w1' && j.timestamp >= restoredAt);
      };
      await eventually(servedLate, (ok) => ok, { ms: 60_000, every: 200, what: 'w1 to serve jobs again', context: logs });
      const rejoinSeconds = (Date.now() - restoredAt) / 1000;
      // w1 finished the jobs it held once it could reach Redis again; their completions were
      // refused (the other host had run them), and none was announced to the API's waiters,
      // which would have answered with a result that is not the job's.
      await workers.w1.waitFor(new RegExp("^" + held.map((id) => `(?=[^]*Missing lock for job ${id}\\b)`).join('')), 30_000);
      const late = announced.filter((m) => held.includes(m.id) && m.settled?.returnvalue.metrics.worker === 'wrk_w1');
      expect(late.map((m) => m.id)).toEqual([]);
      stop = true;
      await load;

      // 5. Every accepted job ends once, with the reference outputs.
      expect(refused).toEqual([]);
      const ended = await Promise.all(sent.map((s) => call(api, 'GET', `/v1/jobs/${s.id}?wait=30`)));
      const want = await runAlone(MLP, 'input', 'output', sent.map((s) => s.row));
      const byWorker: Record<string, number> = {};
      ended.forEach((e, i) => {
        expect(e.body.status, `${sent[i]!.id}\n${logs()}`).toBe('succeeded');
        e.body.outputs[0].data.forEach((v: number, j: number) => expect(v).toBeCloseTo(want[i]![j]!, 5));
        byWorker[e.body.metrics.worker] = (byWorker[e.body.metrics.worker] ?? 0) + 1;
      });
      expect(byWorker['wrk_w1']).toBeGreaterThan(0);
      expect(byWorker['wrk_w2']).toBeGreaterThan(0);
      // The jobs w1 held still carry the other host's ending: w1's late completions were refused.
      const again = await Promise.all(heldPublic.map((id) => call(api, 'GET', `/v1/jobs/${id}`)));
      again.forEach((a, i) => {
        expect(a.body.metrics.worker).toBe('wrk_w2');
        expect(a.body.completed_at).toBe(recovered[i]!.body.completed_at);
      });
      expect(await queue.getJobCounts('active', 'waiting', 'delayed', 'failed')).toEqual({ active: 0, waiting: 0, delayed: 0, failed: 0 });

      // 6. Every hooked job's job.completed arrives, under one webhook-id, describing that ending.
      const hooked = new Map(sent.flatMap((s, i) => (s.hooked ? [[s.id, ended[i]!.body] as const] : [])));
      await receiver.until((got) => new Set(got.map((r) => r.id)).size >= hooked.size, 60_000, `${hooked.size} job.completed events`);
      const idsByJob = new Map<string, Set<string>>();
      for (const r of receiver.received) {
        const event = JSON.parse(r.body);
        expect(event.type).toBe('job.completed');
        const job = hooked.get(event.data.id);
        expect(job, `an event for a job that has no webhook: ${event.data.id}`).toBeDefined();
        // The event and the API's answer describe the same ending. (Before the runner announced
        // only stored completions, waiters could be answered with the cut-off worker's late,
        // refused completion of a job another worker had run: another worker, another time.)
        expect(event.data).toMatchObject({ status: 'succeeded', outputs: job.outputs, metrics: { worker: job.metrics.worker } });
        idsByJob.set(event.data.id, (idsByJob.get(event.data.id) ?? new Set()).add(r.id));
      }
      expect(idsByJob.size).toBe(hooked.size);
      for (const ids of idsByJob.values()) expect(ids.size).toBe(1);
      const redelivered = receiver.received.length - hooked.size;

      console.log(
        `multi-host: ${sent.length} jobs sent (${hooked.size} with webhooks) to 2 worker hosts (w1 ${byWorker['wrk_w1']}, w2 ${byWorker['wrk_w2']}), ` +
          `1 link cut while w1 held ${held.length} jobs; lost 0, duplicate endings 0, ${redelivered} event(s) delivered twice (same webhook-id); ` +
          `held jobs finished by w2 ${recoverSeconds.toFixed(1)} s after the cut (liveness TTL ${ALIVE_TTL_MS} ms, lock ${LOCK_MS / 1000} s); ` +
          `w1 served again ${rejoinSeconds.toFixed(1)} s after the link came back`,
      );
    } finally {
      stop = true;
      await load.catch(() => {});
    }
  });
});
