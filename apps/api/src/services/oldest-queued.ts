/**
 * The age of a model queue's oldest queued job (waiting: BullMQ's `wait` and `prioritized`, not
 * yet taken by a worker; delayed ones are not queued yet), what `/admin/status.json` shows as
 * `oldest_queued_s` and `/metrics` as `maas_queue_oldest_job_age_seconds`. The first
 * OLDEST_SAMPLE jobs of each state are looked at, as a worker would take them (`wait`'s oldest
 * end; `prioritized` by priority, then arrival): within a priority they are the oldest, and a
 * job of a lower priority behind them is older only while the higher ones keep it waiting,
 * which this still shows as their age. One script, one round trip, on the queue's slot.
 */
import type { Redis } from 'ioredis';
import { PREFIX } from '@maas/shared';

/** How many jobs of each queued state are looked at. */
export const OLDEST_SAMPLE = 50;

/**
 * KEYS: wait (list, the oldest at its right end), prioritized (sorted set). ARGV: the prefix of
 * the queue's job hashes (`maas:{queue}:`), the sample size. Returns the smallest `timestamp`
 * (epoch ms, as BullMQ stamped the job) among the sampled jobs, or false when none is queued.
 * The job hashes share the queue's hash tag: the same slot as KEYS.
 */
const OLDEST_QUEUED_LUA = `
local n = tonumber(ARGV[2])
local oldest = false
local function look(ids)
  for _, id in ipairs(ids) do
    local t = tonumber(redis.call('HGET', ARGV[1] .. id, 'timestamp'))
    if t and (not oldest or t < oldest) then oldest = t end
  end
end
look(redis.call('LRANGE', KEYS[1], -n, -1))
look(redis.call('ZRANGE', KEYS[2], 0, n - 1))
if oldest then return tostring(oldest) end
return false
`;

/** When the oldest queued job of `queueName` was created (epoch ms, cluster clock), or undefined when none is queued. Reads only. */
export async function oldestQueuedAt(redis: Redis, queueName: string): Promise<number | undefined> {
  const key = (state: string) => `${PREFIX}:${queueName}:${state}`;
  const t = (await redis.eval(OLDEST_QUEUED_LUA, 2, key('wait'), key('prioritized'), `${PREFIX}:${queueName}:`, OLDEST_SAMPLE)) as string | null;
  return t === null ? undefined : Number(t);
}

/** PURE: seconds a job created at `at` has waited by `now`, to a tenth, never below 0 (clocks differ by a little); undefined for none queued. */
export function queuedSeconds(at: number | undefined, now: number): number | undefined {
  return at === undefined ? undefined : Math.max(0, Math.round((now - at) / 100) / 10);
}
