/**
 * LiveModels against a real redis-server and a copy of the shipped penguins model (two
 * versions, policy `latest: 2`). The runners are stand-ins that count what is left in their
 * queue: opening sessions is SessionPool's business, what to open, retire and close is this
 * module's.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inferenceQueueName, PREFIX, startRedisServer, unfinishedJobCount, UNLOADED_MODELS_KEY, type Logger, type RedisServer } from '@maas/shared';
import { LiveModels, RETIRED_POLL_MS, type ServedRunner } from './live-models.js';

const SHIPPED = resolve(fileURLToPath(import.meta.url), '../../../../../models');

class StandInRunner implements ServedRunner {
  closed = false;
  /** jobs it holds itself, beside those its queue in Redis holds */
  left = 0;
  constructor(readonly tag: string, readonly queueName: string) {}
  async unfinished(): Promise<number> {
    return this.left + await unfinishedJobCount(redis, this.queueName);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const silent = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger;
const until = async (ok: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

let server: RedisServer;
let redis: Redis;
let root: string;
const started: { live: LiveModels<StandInRunner>; subscriber: Redis }[] = [];

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
  root = await mkdtemp(join(tmpdir(), 'maas-live-models-'));
  await cp(join(SHIPPED, 'penguins'), join(root, 'penguins'), { recursive: true });
});
afterEach(async () => {
  for (const { live } of started.splice(0)) await live.close();
  await rm(root, { recursive: true, force: true });
});

/** A LiveModels over `root` serving penguins only; `refuse`: tags whose runner cannot open. */
async function startLive(refuse = new Set<string>(), retireGraceMs = 0) {
  const opened: StandInRunner[] = [];
  const subscriber = new Redis(server.url);
  const told: Record<string, string>[] = [];
  const live = new LiveModels<StandInRunner>(redis, subscriber, silent, {
    root,
    selected: (v) => v.model === 'penguins',
    refused: (reasons) => told.push(reasons),
    open: async (_m, v) => {
      const tag = `${v.model}:${v.version}`;
      if (refuse.has(tag)) throw new Error(`cannot load ${join(root, v.model, String(v.version), 'model.onnx')}: no such session`);
      const runner = new StandInRunner(tag, inferenceQueueName(v.model, v.version));
      opened.push(runner);
      return runner;
    },
    changed: () => {},
    retireGraceMs,
  });
  started.push({ live, subscriber });
  await live.start();
  return { live, opened, told, tags: () => live.runners.map((r) => r.tag).sort() };
}

describe('LiveModels', () => {
  it('opens the versions the policy serves, of the models this worker selects', async () => {
    await cp(join(SHIPPED, 'mlp'), join(root, 'mlp'), { recursive: true });
    const { tags } = await startLive();
    expect(tags()).toEqual(['penguins:1', 'penguins:2']);
  });

  it('a version whose runner cannot open is not served, nor tried again until its files change', async () => {
    const { live, opened, told, tags } = await startLive(new Set(['penguins:1']));
    expect(tags()).toEqual(['penguins:2']);
    // Told (for the repository index, which tenants read) with its path in the repository, not the worker's.
    expect(told.at(-1)).toEqual({ 'penguins:1': 'runner cannot be opened: cannot load penguins/1/model.onnx: no such session' });
    await live.sync(['penguins']);
    expect(opened.map((r) => r.tag)).toEqual(['penguins:2']); // nothing opened again
    expect(tags()).toEqual(['penguins:2']);
  });

  it('an unloaded version runs what is left in its queue, then closes', async () => {
    const { live, opened, tags } = await startLive();
    const [one, two] = opened as [StandInRunner, StandInRunner];
    two.left = 2;
    await redis.sadd(UNLOADED_MODELS_KEY, 'penguins');
    await live.sync(['penguins']);
    expect(tags()).toEqual([]);
    await until(() => one.closed); // nothing left: closed at once
    expect(live.retiringRunners).toEqual([two]);
    await new Promise((r) => setTimeout(r, 2 * RETIRED_POLL_MS));
    expect(two.closed).toBe(false); // jobs still waiting or held
    two.left = 0;
    await until(() => two.closed, 3 * RETIRED_POLL_MS);
    await until(() => live.retiringRunners.length === 0);
  });

  it('a retired version stays open for its grace, its queue empty or not (an API yet to see the change still routes jobs to it)', async () => {
    const { live, opened } = await startLive(new Set(), 1500);
    await redis.sadd(UNLOADED_MODELS_KEY, 'penguins');
    const t0 = Date.now();
    await live.sync(['penguins']);
    await new Promise((r) => setTimeout(r, 700));
    expect(opened.map((r) => r.closed)).toEqual([false, false]);
    await until(() => opened.every((r) => r.closed), 4000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
  });

  it('a version the policy no longer serves is retired; the one it serves reopens with the new config.json', async () => {
    const { live, opened, tags } = await startLive();
    await writeFile(join(root, 'penguins/config.json'), JSON.stringify({ max_batch_size: 256, version_policy: { latest: 1 } }));
    await live.sync(['penguins']);
    expect(tags()).toEqual(['penguins:2']);
    // config.json changed: version 2 is opened again with it, its old runner closed; 1 retired.
    await until(() => opened.filter((r) => r.closed).length === 2);
    expect(opened.map((r) => r.tag).sort()).toEqual(['penguins:1', 'penguins:2', 'penguins:2']);
    const open = opened.filter((r) => !r.closed);
    expect(open.map((r) => r.tag)).toEqual(['penguins:2']);
    expect(live.runners).toEqual(open);
  });

  it('a worker started after an unload opens a version with jobs left (waiting, or held by a dead worker) and retires it; one without is left shut', async () => {
    await redis.sadd(UNLOADED_MODELS_KEY, 'penguins');
    const held = `${PREFIX}:${inferenceQueueName('penguins', 2)}:active`;
    await redis.lpush(held, 'job_held_by_the_dead');
    const { live, opened, tags } = await startLive();
    expect(tags()).toEqual([]);
    expect(opened.map((r) => r.tag)).toEqual(['penguins:2']);
    expect(live.retiringRunners.map((r) => r.tag)).toEqual(['penguins:2']);
    await redis.del(held); // released and run
    await until(() => opened[0]!.closed, 3 * RETIRED_POLL_MS);
  });
});
