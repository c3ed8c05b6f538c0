/** Redis's own accounting (INFO commandstats, CPU): what a run cost the one shared process. */
import type { Redis } from 'ioredis';

export interface RedisCost {
  /** commands Redis executed, counting each call inside a Lua script */
  calls: number;
  /** scripts run (EVALSHA/EVAL): each is one command on the wire */
  scripts: number;
  cpuSeconds: number;
  top: [string, number][];
}

async function snapshot(redis: Redis): Promise<{ stats: Map<string, number>; cpu: number }> {
  const info = await redis.info('commandstats');
  const stats = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(m[1]!, Number(m[2]));
  const cpuInfo = await redis.info('cpu');
  const cpu = Number(/used_cpu_user:([\d.]+)/.exec(cpuInfo)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(cpuInfo)?.[1] ?? 0);
  return { stats, cpu };
}

/** Measures what `work` costs Redis. */
export async function redisCost(redis: Redis, work: () => Promise<void>): Promise<RedisCost> {
  const before = await snapshot(redis);
  await work();
  const after = await snapshot(redis);
  const delta = new Map<string, number>();
  for (const [k, v] of after.stats) delta.set(k, v - (before.stats.get(k) ?? 0));
  delta.set('info', 0); // our own probes
  const calls = [...delta.values()].reduce((a, b) => a + b, 0);
  const scripts = (delta.get('evalsha') ?? 0) + (delta.get('eval') ?? 0);
  return {
    calls,
    scripts,
    cpuSeconds: after.cpu - before.cpu,
    top: [...delta.entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, 12),
  };
}
