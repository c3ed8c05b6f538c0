/**
 * `handBackOf` on a Redis Cluster (a one-node cluster of a real redis-server: it refuses a
 * command whose declared keys span hash slots, as a larger one does; keys a script reaches through
 * its arguments are checked here by their slot, below): a batch chunk fetched past a worker's row
 * budget, or not started when it stops, goes back as it was before its fetch, with its queue
 * marked, as on a single Redis (stale-marker.int.test.ts). Before, a cluster's worker had no
 * hand-back of its own and used BullMQ's moveToWait: the chunk kept its fetch's `processedOn`,
 * read as "a worker took it before" by the queued-rows tally, and no marker woke a waiting worker.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bullmqConnectionOptions, createRedis, PREFIX, startRedisServer, type RedisServer } from '@maas/shared';
import { handBackOf } from '../src/liveness/lost-fetches.js';
import { expectHandedBack } from './hand-back-check.js';

let server: RedisServer;
let dir: string;
let cluster: Redis;
const closers: (() => Promise<unknown>)[] = [];
/** A connection as the service makes one to a cluster (REDIS_URL with `?cluster=true`). */
const connect = () => createRedis(`${server.url}?cluster=true`, bullmqConnectionOptions('hand-back-test'));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maas-hand-back-'));
  // (a node alone announces no address unless told: a client would be sent to '')
  server = await startRedisServer({ extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1'] });
  const admin = new Redis(server.url);
  try {
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    for (let i = 0; !/cluster_state:ok/.test((await admin.call('CLUSTER', 'INFO')) as string); i++) {
      if (i > 200) throw new Error('cluster not ready');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    admin.disconnect();
  }
  cluster = connect();
});
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  cluster?.disconnect();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('handBackOf on a Redis Cluster', () => {
  it('puts a fetched job back as it was before its fetch, and marks its queue', async () => {
    const name = '{hand-back-cluster}';
    const queue = new Queue(name, { connection: cluster, prefix: PREFIX });
    const worker = new Worker(name, null, { connection: connect(), prefix: PREFIX, lockDuration: 60_000, name: 'wrk_c' });
    closers.push(() => queue.close(), () => worker.close(true));
    const key = (k: string) => `${PREFIX}:${name}:${k}`;
    const handBack = handBackOf(worker);
    expect(handBack).toBeDefined();
    await expectHandedBack(cluster, queue, worker, 'wrk_c', handBack!);
    // Every key the hand-back reaches (UNTAKE_LUA, BullMQ's moveJobFromActiveToWait, the marker)
    // is in the queue's slot: on a cluster of many masters, none is on another node.
    const slots = new Set(await Promise.all(['c1', 'c1:lock', 'active', 'wait', 'prioritized', 'meta', 'marker', 'events', 'stalled']
      .map((k) => cluster.call('CLUSTER', 'KEYSLOT', key(k)))));
    expect(slots.size).toBe(1);
  });
});
