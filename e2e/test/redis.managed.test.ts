/**
 * The service on a Redis set up the way a managed service is (AWS ElastiCache, Azure Cache,
 * Redis Cloud, Upstash): TLS only, on a certificate of a private CA the services are told of
 * by NODE_EXTRA_CA_CERTS; the `default` user off, REDIS_URL `rediss://user:password@…`; the
 * admin commands (CONFIG, DEBUG, MONITOR, SAVE, SHUTDOWN, REPLICAOF, ACL, ...) denied to that
 * user (harness redis-managed.ts). Jobs, waits, batches, webhooks, readiness, metrics and the
 * admin pages work on it, nothing they send is refused, a restart and a revoked password are
 * ridden out; a wrong password or an untrusted CA stops a service at start-up with a line
 * saying why; no log shows the password.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import {
  API_ENTRY, call, Cluster, eventually, MANAGED_DENIED_COMMANDS, rows, ServiceProcess, SHIPPED_MODELS, WebhookReceiver, WORKER_ENTRY,
} from '../src/harness/index.js';

let cluster: Cluster;
let receiver: WebhookReceiver;

beforeAll(async () => {
  cluster = await Cluster.start({
    redisManaged: true,
    workers: 1,
    api: { WEBHOOK_ALLOW_PRIVATE: 'true' },
    worker: { WORKER_MODELS: 'mlp,penguins', WEBHOOK_ALLOW_PRIVATE: 'true' },
  });
  receiver = await WebhookReceiver.start();
});
afterAll(async () => {
  await receiver?.close();
  await cluster?.stop();
});

const managed = () => cluster.managed!;
const serviceLogs = () => [...cluster.apis, ...cluster.workers].map((p) => p.log).join('\n');
/** Whether `log` holds the password, as it is or as REDIS_URL spells it. */
const leaks = (log: string) => log.includes(managed().password) || log.includes(encodeURIComponent(managed().password));
/** The connection name of this suite's own probes (their refused commands are not the services'). */
const PROBE = 'suite-probe';
const mlpJob = (data: number[][], extra: Record<string, unknown> = {}) => ({
  model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [data.length, 32], data }], ...extra,
});

describe('on a managed-style Redis (TLS, ACL user, admin commands denied)', () => {
  it('is what it claims: TLS only, the default user off, the admin commands refused', async () => {
    const plain = new Redis({ port: cluster.redis.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    plain.on('error', () => {});
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    plain.disconnect();
    const anonymous = new Redis({ port: cluster.redis.port, host: '127.0.0.1', tls: managed().tls, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    anonymous.on('error', () => {});
    await expect(anonymous.connect().then(() => anonymous.ping())).rejects.toThrow();
    anonymous.disconnect();
    const r = new Redis(managed().url, { tls: managed().tls, connectionName: PROBE, maxRetriesPerRequest: 1 });
    try {
      expect(await r.ping()).toBe('PONG');
      expect(MANAGED_DENIED_COMMANDS).toEqual(expect.arrayContaining(['config', 'debug', 'monitor', 'save', 'bgsave', 'bgrewriteaof', 'shutdown', 'replicaof', 'acl']));
      for (const command of [['CONFIG', 'GET', 'maxmemory-policy'], ['ACL', 'WHOAMI'], ['DEBUG', 'SLEEP', '0'], ['BGSAVE'], ['REPLICAOF', 'NO', 'ONE']]) {
        // (DEBUG is also off by Redis's own enable-debug-command default)
        await expect(r.call(command[0]!, ...command.slice(1)), command.join(' ')).rejects.toThrow(/NOPERM|DEBUG command not allowed/);
      }
    } finally {
      r.disconnect();
    }
  });

  it('answers v2 infer, a job with Prefer: wait, a polled job and a long-poll', async () => {
    const infer = await call(cluster.url, 'POST', '/v2/models/penguins/infer', {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [39.1, 18.7, 181, 3750] }],
    });
    expect(infer.status, infer.text).toBe(200);
    expect(infer.body.outputs.find((o: { name: string }) => o.name === 'label').data).toEqual([0]);

    const waited = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(1, 2, 32)), { Prefer: 'wait=20' });
    expect(waited.status, waited.text).toBe(200);
    expect(waited.body.status).toBe('succeeded');
    expect(waited.body.outputs[0].shape[0]).toBe(2);

    const queued = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(2, 1, 32)));
    expect(queued.status, queued.text).toBe(202);
    const polled = await eventually(() => call(cluster.url, 'GET', `/v1/jobs/${queued.body.id}`), (r) => r.body.status === 'succeeded', { what: 'the polled job' });
    expect(polled.body.outputs[0].shape[0]).toBe(1);

    const late = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(3, 1, 32)));
    const longPoll = await call(cluster.url, 'GET', `/v1/jobs/${late.body.id}?wait=20`);
    expect(longPoll.body.status).toBe('succeeded');
  });

  it('runs a batch file to completion, serves its results and delivers its webhook', async () => {
    const lines = rows(4, 300, 32).map((r, i) => JSON.stringify({ custom_id: `r${i}`, inputs: { input: r } }));
    const res = await fetch(`${cluster.url}/v1/batches?model=mlp&webhook=${encodeURIComponent(receiver.url)}`, {
      method: 'POST', body: lines.join('\n'), headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(res.status).toBe(202);
    const batch = (await res.json()) as { id: string };
    const done = (await call(cluster.url, 'GET', `/v1/batches/${batch.id}?wait=30`)).body;
    expect(done).toMatchObject({ status: 'succeeded', counts: { total: 300, succeeded: 300, failed: 0 } });
    const out = (await (await fetch(`${cluster.url}/v1/batches/${batch.id}/results`)).text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(out.map((l) => l.custom_id)).toEqual(lines.map((_, i) => `r${i}`));
    const [hook] = await receiver.until((all) => all.some((r) => r.body.includes(batch.id)));
    expect(JSON.parse(hook!.body)).toMatchObject({ type: 'batch.completed', data: { id: batch.id, status: 'succeeded' } });
  });

  it('is ready; its metrics, status page and queue board read Redis', async () => {
    const ready = await call(cluster.url, 'GET', '/v2/health/ready');
    expect(ready.status, ready.text).toBe(200);
    const metrics = await call(cluster.url, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^maas_redis_up 1$/m);
    expect(metrics.text).toMatch(/^maas_queue_jobs\{[^}]*model="mlp"/m);
    expect((await call(cluster.url, 'GET', '/admin/status.json')).status).toBe(200);
    const board = await call(cluster.url, 'GET', '/admin/queues/api/queues');
    expect(board.status, board.text).toBe(200);
    expect(JSON.stringify(board.body)).toContain('infer-mlp');
  });

  it('nothing the API or the worker sent was refused (ACL LOG), and no log of theirs shows the password', async () => {
    const admin = managed().adminClient();
    try {
      const refused = (await admin.call('ACL', 'LOG', '128')) as unknown[][];
      const entries = refused.map((e) => Object.fromEntries(Array.from({ length: e.length / 2 }, (_, i) => [e[2 * i], e[2 * i + 1]])));
      expect(entries.length).toBeGreaterThan(0); // the first test's probes
      expect(entries.filter((e) => !String(e['client-info']).includes(` name=${PROBE} `))).toEqual([]);
    } finally {
      admin.disconnect();
    }
    expect(leaks(serviceLogs())).toBe(false);
    expect(serviceLogs()).not.toMatch(/NOPERM|IMPORTANT! Eviction policy/);
  });

  it('rides out a restart of that Redis: its connections come back over TLS, as the ACL user', async () => {
    await cluster.redis.kill();
    await cluster.redis.restart(); // no persistence: it comes back empty
    const job = await eventually(() => call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(6, 1, 32))), (r) => r.status === 202, { ms: 15_000, what: 'a job accepted after the restart' });
    // answered through the worker's fetch and the API's subscriber, both reconnected
    expect((await call(cluster.url, 'GET', `/v1/jobs/${job.body.id}?wait=20`)).body.status).toBe('succeeded');
    expect((await call(cluster.url, 'GET', '/v2/health/ready')).status).toBe(200);
    expect(serviceLogs()).not.toMatch(/NOPERM|WRONGPASS|certificate/);
  });

  it("a password revoked while running: not ready, the API's and the worker's logs say WRONGPASS without the password; back once restored", async () => {
    const admin = managed().adminClient();
    try {
      await admin.call('ACL', 'SETUSER', managed().user, 'resetpass', '>rotated-elsewhere');
      await admin.call('CLIENT', 'KILL', 'USER', managed().user);
      await eventually(() => call(cluster.url, 'GET', '/v2/health/ready'), (r) => r.status === 503, { ms: 10_000, what: 'not ready' });
      await cluster.workers[0]!.waitFor(/WRONGPASS/, 10_000);
      await cluster.api.waitFor(/Redis connection failed; reconnecting.*WRONGPASS|WRONGPASS.*Redis connection failed; reconnecting/, 10_000);
      await admin.call('ACL', 'SETUSER', managed().user, 'resetpass', `>${managed().password}`);
    } finally {
      admin.disconnect();
    }
    await eventually(() => call(cluster.url, 'GET', '/v2/health/ready'), (r) => r.status === 200, { ms: 10_000, what: 'ready again' });
    const job = await eventually(() => call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(7, 1, 32)), { Prefer: 'wait=20' }), (r) => r.status !== 503, { ms: 10_000, what: 'a job accepted' });
    expect(job.body.status, job.text).toBe('succeeded');
    expect(leaks(serviceLogs())).toBe(false);
  });
});

describe('a service that cannot use that Redis stops at start-up, saying why', () => {
  /** Starts a service on the managed Redis with `over` in its environment (undefined: unset); its exit code, time to exit and log. */
  const startAndExit = async (name: string, entry: string, over: Record<string, string | undefined>) => {
    const env: Record<string, string | undefined> = {
      MODEL_REPOSITORY: SHIPPED_MODELS, REDIS_URL: managed().url, NODE_EXTRA_CA_CERTS: managed().caFile, PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1',
      WORKER_MODELS: 'penguins', ...over,
    };
    const t0 = Date.now();
    const p = ServiceProcess.start(name, entry, Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)));
    const code = await Promise.race([p.exit(), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
    if (code === 'hung') await p.stop('SIGKILL');
    return { code, ms: Date.now() - t0, log: p.log };
  };

  it.each([['api', API_ENTRY], ['worker', WORKER_ENTRY]])('the %s, given a wrong password', async (name, entry) => {
    const wrong = new URL(managed().url);
    wrong.password = 'not-the-password';
    const r = await startAndExit(`${name}-wrongpass`, entry, { REDIS_URL: wrong.href });
    expect(r.code, r.log).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.log).toMatch(/"level":"fatal".*cannot reach Redis at rediss:\/\/127\.0\.0\.1:\d+ \(REDIS_URL; connection [^)]+\): WRONGPASS invalid username-password pair/);
    expect(r.log).not.toContain('not-the-password');
  });

  it.each([
    ['api', 'another CA', API_ENTRY, () => managed().otherCaFile],
    ['worker', 'another CA', WORKER_ENTRY, () => managed().otherCaFile],
    ['worker', 'no NODE_EXTRA_CA_CERTS', WORKER_ENTRY, () => undefined],
  ])("the %s, given %s (not the CA of the server's certificate)", async (name, _what, entry, ca) => {
    const r = await startAndExit(`${name}-untrusted`, entry, { NODE_EXTRA_CA_CERTS: ca() });
    expect(r.code, r.log).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.log).toMatch(/"level":"fatal".*cannot reach Redis at rediss:\/\/127\.0\.0\.1:\d+ \(REDIS_URL; connection [^)]+\): (self-signed certificate in certificate chain|unable to verify the first certificate)/); // as the TLS library words it
    expect(leaks(r.log)).toBe(false);
  });
});
