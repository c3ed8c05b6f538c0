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
  aclLog, API_ENTRY, call, Cluster, eventually, MANAGED_DENIED_COMMANDS, expectBatchInOrder, expectInferWaitAndPoll, expectReadyAndReading, expectStoppedSaying, rows, startAndExitOn, UNTRUSTED, WebhookReceiver, WORKER_ENTRY,
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
    await expectInferWaitAndPoll(cluster.url);
    const late = await call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(3, 1, 32)));
    const longPoll = await call(cluster.url, 'GET', `/v1/jobs/${late.body.id}?wait=20`);
    expect(longPoll.body.status).toBe('succeeded');
  });

  it('runs a batch file to completion, serves its results and delivers its webhook', async () => {
    const id = await expectBatchInOrder(cluster.url, `&webhook=${encodeURIComponent(receiver.url)}`);
    const [hook] = await receiver.until((all) => all.some((r) => r.body.includes(id)));
    expect(JSON.parse(hook!.body)).toMatchObject({ type: 'batch.completed', data: { id, status: 'succeeded' } });
  });

  it('is ready; its metrics, status page and queue board read Redis', async () => {
    await expectReadyAndReading(cluster.url);
  });

  it('nothing the API or the worker sent was refused (ACL LOG), and no log of theirs shows the password', async () => {
    const admin = managed().adminClient();
    try {
      const entries = await aclLog(admin);
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
  it.each([['api', API_ENTRY], ['worker', WORKER_ENTRY]])('the %s, given a wrong password', async (name, entry) => {
    const wrong = new URL(managed().url);
    wrong.password = 'not-the-password';
    const r = await startAndExitOn(managed(), `${name}-wrongpass`, entry, { REDIS_URL: wrong.href });
    expectStoppedSaying(r, String.raw`rediss://127\.0\.0\.1:\d+`, /WRONGPASS invalid username-password pair/);
    expect(r.log).not.toContain('not-the-password');
  });

  it.each([
    ['api', 'another CA', API_ENTRY, () => managed().otherCaFile],
    ['worker', 'another CA', WORKER_ENTRY, () => managed().otherCaFile],
    ['worker', 'no NODE_EXTRA_CA_CERTS', WORKER_ENTRY, () => undefined],
  ])("the %s, given %s (not the CA of the server's certificate)", async (name, _what, entry, ca) => {
    const r = await startAndExitOn(managed(), `${name}-untrusted`, entry, { NODE_EXTRA_CA_CERTS: ca() });
    expectStoppedSaying(r, String.raw`rediss://127\.0\.0\.1:\d+`, UNTRUSTED);
    expect(leaks(r.log)).toBe(false);
  });
});
