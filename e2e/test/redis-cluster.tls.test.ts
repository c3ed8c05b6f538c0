/**
 * The service on a Redis Cluster set up the way a managed one is (ElastiCache cluster mode
 * with in-transit encryption, Azure, Memorystore): three masters, TLS only (the cluster bus
 * too), on a private CA the services are told of by NODE_EXTRA_CA_CERTS, with a certificate
 * naming the endpoint's host (`localhost`) while the nodes announce their addresses
 * (127.0.0.1); the `default` user off, REDIS_URL `rediss://user:password@localhost:port?cluster=true`;
 * the admin commands and CLUSTER's but its reading subcommands denied (harness
 * redis-cluster.ts with `managed`). Jobs, waits, batches, readiness and metrics work on it,
 * nothing they send is refused, a master killed and restarted is ridden out; a wrong password
 * or an untrusted CA stops a service at start-up with a line saying why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:tls';
import { Redis } from 'ioredis';
import {
  aclLog, API_ENTRY, call, Cluster, eventually, expectBatchInOrder, expectInferWaitAndPoll, expectReadyAndReading, expectScanKeysOnEveryMaster, expectStoppedSaying, rows,
  startAndExitOn, UNTRUSTED, WORKER_ENTRY,
} from '../src/harness/index.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ redisCluster: true, redisManaged: true, workers: 1, worker: { WORKER_MODELS: 'mlp,penguins' } });
});
afterAll(async () => {
  await cluster?.stop();
});

const managed = () => cluster.managed!;
const serviceLogs = () => [...cluster.apis, ...cluster.workers].map((p) => p.log).join('\n');
const leaks = (log: string) => log.includes(managed().password) || log.includes(encodeURIComponent(managed().password));
/** An operator's client of each master (caller disconnects them). */
const admins = () => cluster.redisPorts.map((port) => managed().adminClient(port));
const mlpJob = (data: number[][]) => ({ model: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [data.length, 32], data }] });

describe('on a managed-style Redis Cluster (TLS only, ACL user, admin commands denied)', () => {
  it('is what it claims: TLS only, a certificate for the endpoint\'s name while the nodes announce addresses, the default user off, the admin commands refused', async () => {
    const port = cluster.redisPorts[0]!;
    const plain = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    plain.on('error', () => {});
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    plain.disconnect();
    // the node's certificate does not name the address the cluster announces
    const byAddress = await new Promise<Error | undefined>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, ca: managed().tls.ca }, () => {
        s.destroy();
        resolve(undefined);
      });
      s.on('error', resolve);
    });
    expect(byAddress?.message).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list: $/);
    const r = new Redis({ host: 'localhost', port, tls: managed().tls, username: managed().user, password: managed().password, maxRetriesPerRequest: 1, connectionName: 'suite-probe' });
    try {
      const slots = (await r.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      expect(new Set(slots.map((s) => s[2][0]))).toEqual(new Set(['127.0.0.1']));
      for (const command of [['CONFIG', 'GET', 'maxmemory-policy'], ['ACL', 'WHOAMI'], ['CLUSTER', 'MEET', '127.0.0.1', '1'], ['CLUSTER', 'FORGET', 'x']]) {
        await expect(r.call(command[0]!, ...command.slice(1)), command.join(' ')).rejects.toThrow(/NOPERM/);
      }
    } finally {
      r.disconnect();
    }
  });

  it('answers v2 infer, a job with Prefer: wait and a polled job', async () => {
    await expectInferWaitAndPoll(cluster.url);
  });

  it('runs a batch file and serves its results in order', async () => {
    await expectBatchInOrder(cluster.url);
  });

  it('is ready; its metrics, status page and queue board read Redis', async () => {
    await expectReadyAndReading(cluster.url);
  });

  it('spread its keys over every master; scanKeys walks them all over TLS as the ACL user', async () => {
    const nodes = admins();
    try {
      for (const node of nodes) expect(await node.dbsize()).toBeGreaterThan(0);
    } finally {
      for (const node of nodes) node.disconnect();
    }
    await expectScanKeysOnEveryMaster(managed().url, { tls: managed().tls });
  });

  it('nothing the API or the worker sent was refused on any master (ACL LOG), and no log of theirs shows the password', async () => {
    const nodes = admins();
    try {
      const entries = (await Promise.all(nodes.map(aclLog))).flat();
      expect(entries.filter((e) => !String(e['client-info']).includes(' name=suite-probe '))).toEqual([]);
    } finally {
      for (const node of nodes) node.disconnect();
    }
    expect(leaks(serviceLogs())).toBe(false);
    expect(serviceLogs()).not.toMatch(/NOPERM|CROSSSLOT|IMPORTANT! Eviction policy/);
  });

  it('rides out a master killed and restarted on its port: a job afterwards succeeds', async () => {
    const node = cluster.redisNodes[1]!;
    await node.kill();
    await node.restart(); // no persistence: its slots come back empty, its place in the cluster from nodes.conf
    // (503s while the cluster settles, as its node rejoins: MOVED back and forth until ioredis gives up; never a 500)
    const job = await eventually(() => call(cluster.url, 'POST', '/v1/jobs', mlpJob(rows(6, 1, 32)), { Prefer: 'wait=20' }), (r) => r.status !== 503, {
      ms: 20_000, what: 'a job accepted after the restart', context: () => cluster.logs(),
    });
    expect(job.body.status, `${job.text}\n${cluster.logs()}`).toBe('succeeded');
    await eventually(() => call(cluster.url, 'GET', '/v2/health/ready'), (r) => r.status === 200, { ms: 10_000, what: 'ready' });
    expect(serviceLogs()).not.toMatch(/NOPERM|WRONGPASS|certificate|altnames/);
  });
});

describe('a service that cannot use that cluster stops at start-up, saying why', () => {
  it.each([['api', API_ENTRY], ['worker', WORKER_ENTRY]])('the %s, given a wrong password', async (name, entry) => {
    const wrong = new URL(managed().url);
    wrong.password = 'not-the-password';
    const r = await startAndExitOn(managed(), `${name}-wrongpass`, entry, { REDIS_URL: wrong.href });
    expectStoppedSaying(r, String.raw`rediss://localhost:\d+\?cluster=true`, /WRONGPASS invalid username-password pair/);
    expect(r.log).not.toContain('not-the-password');
  });

  it.each([['api', API_ENTRY], ['worker', WORKER_ENTRY]])('the %s, given another CA', async (name, entry) => {
    const r = await startAndExitOn(managed(), `${name}-untrusted`, entry, { NODE_EXTRA_CA_CERTS: managed().otherCaFile });
    expectStoppedSaying(r, String.raw`rediss://localhost:\d+\?cluster=true`, UNTRUSTED);
    expect(leaks(r.log)).toBe(false);
  });
});
