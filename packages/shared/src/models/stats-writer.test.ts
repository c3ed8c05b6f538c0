import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createLogger } from '../logger.js';
import { StatsWriter } from './stats-writer.js';
import { STAT } from './stats.js';

/** A Redis that records each MULTI's commands, as [command, key, ...args]. */
function recordingRedis(): { redis: Redis; txs: unknown[][][] } {
  const txs: unknown[][][] = [];
  const redis = {
    multi() {
      const tx: unknown[][] = [];
      txs.push(tx);
      const m = {
        hincrby: (...a: unknown[]) => (tx.push(['hincrby', ...a]), m),
        hset: (...a: unknown[]) => (tx.push(['hset', ...a]), m),
        exec: async () => [],
      };
      return m;
    },
  } as unknown as Redis;
  return { redis, txs };
}

describe('StatsWriter', () => {
  it('writes a MULTI a hash (a Redis Cluster refuses one over two slots: CROSSSLOT)', async () => {
    const { redis, txs } = recordingRedis();
    const w = new StatsWriter(redis, createLogger('t', 'silent'));
    w.add('maas:stats:mlp:1', 'success', 2);
    w.add('maas:stats:penguins:2', 'success', 1);
    w.add('maas:stats:mlp:1', 'success', 3);
    w.inferredAt('maas:stats:mlp:1', 5);
    w.inferredAt('maas:stats:fixed:1', 7);
    await w.close();
    expect(txs).toEqual([
      [['hincrby', 'maas:stats:mlp:1', 'success', 5], ['hset', 'maas:stats:mlp:1', STAT.lastInference, 5]],
      [['hincrby', 'maas:stats:penguins:2', 'success', 1]],
      [['hset', 'maas:stats:fixed:1', STAT.lastInference, 7]],
    ]);
    await w.close(); // nothing summed: nothing written
    expect(txs).toHaveLength(3);
  });
});
