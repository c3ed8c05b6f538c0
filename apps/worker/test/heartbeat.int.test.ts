/**
 * Heartbeat on a real redis-server: a model change (its new models and its change number,
 * set in one turn) is announced by one beat that holds both, not one beat each.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, startRedisServer, WORKERS_INFO_KEY, type RedisServer } from '@maas/shared';
import { Heartbeat, type WorkerDescription } from '../src/heartbeat.js';
import { createWorkerMetrics } from '../src/metrics.js';

let server: RedisServer;
let redis: Redis;
let monitor: Awaited<ReturnType<Redis['monitor']>>;
const infoWrites: string[][] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  monitor = await new Redis(server.url).monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'hset' && args[1] === WORKERS_INFO_KEY) infoWrites.push(args);
  });
});
afterAll(async () => {
  monitor?.disconnect();
  redis?.disconnect();
  await server?.stop();
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

describe('Heartbeat', () => {
  it('announces a change\'s models and its number in one beat, and each later change once', async () => {
    const heartbeat = new Heartbeat(redis, Heartbeat.describe('w-1', 'cpu', 60_000, []), createWorkerMetrics('w-1'), createLogger('heartbeat-test', 'silent'));
    heartbeat.start();
    await settle();
    expect(infoWrites).toHaveLength(1); // the first beat

    const models = [{ model: 'mlp', version: 1, provider: 'cpu', digest: 'c0nf|0nnx' }];
    heartbeat.setModels(models);
    heartbeat.setApplied(7);
    await settle();
    expect(infoWrites).toHaveLength(2);
    const described = JSON.parse(infoWrites[1]![3]!) as WorkerDescription;
    expect(described.models).toEqual(models);
    expect(described.changes_applied).toBe(7);

    heartbeat.setApplied(8); // a change that altered no model: its number alone
    await settle();
    expect(infoWrites).toHaveLength(3);
    expect((JSON.parse(infoWrites[2]![3]!) as WorkerDescription).changes_applied).toBe(8);
    await heartbeat.stop();
  });
});
