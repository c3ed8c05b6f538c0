/**
 * FairShare: the BullMQ priority of a job a tenant queues in a fair band (see lanes.ts), from
 * the tenant's lane in Redis, so every API instance takes turns from the same lanes.
 *
 * One script per enqueue (TURNS_LUA), on the queue's own slot: it reads the band's head in
 * BullMQ's `prioritized` set (the model's virtual time), the tenant's lane, and moves the lane
 * on. Its cost is one EVALSHA per job in a fair band, run beside the quota reservation when
 * there is one. Off (no script at all; every job gets its band's base, first come first
 * served as before) when FAIR_SHARE=off, or on `auto` with fewer than two tenants.
 */
import type { Redis } from 'ioredis';
import { bullPrioritizedKey, laneKey } from '@maas/shared';
import { bandBase, bullPriority, isFairBand, TURN_WIDTH } from './lanes.js';

/** A lane outlives its last job by this much (a tenant gone quiet leaves nothing behind). */
const LANE_TTL_S = 24 * 3600;

/**
 * KEYS[1] the band's lanes (hash tenant → finish), KEYS[2] BullMQ's prioritized set.
 * ARGV: tenant, band base, width, quantum, ttl, rows of each job… Returns each job's BullMQ
 * priority. Mirrors takeTurns (lanes.ts). Scores are formatted with %.0f: exact below 2^53,
 * where BullMQ's priority × 2^32 + counter stays.
 */
const TURNS_LUA = `
local base = tonumber(ARGV[2])
local width = tonumber(ARGV[3])
local q = tonumber(ARGV[4])
local shift = 4294967296
local head = redis.call('ZRANGEBYSCORE', KEYS[2], string.format('%.0f', base * shift),
  '(' .. string.format('%.0f', (base + width) * shift), 'WITHSCORES', 'LIMIT', 0, 1)
local now, f = 0, 0
if #head == 0 then
  redis.call('DEL', KEYS[1])
else
  now = math.floor(tonumber(head[2]) / shift) - base
  f = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
end
local out = {}
for i = 6, #ARGV do
  local start = math.max(now, f)
  out[#out + 1] = base + math.min(math.floor(start), width - 1)
  f = start + tonumber(ARGV[i]) / q
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.17g', f))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return out
`;

type TurnsCommand = (lanes: string, prioritized: string, tenant: string, base: number, width: number, q: number, ttl: number, ...rows: number[]) => Promise<number[]>;

export class FairShare {
  private readonly turns: TurnsCommand | undefined;

  constructor(redis: Redis, readonly enabled: boolean) {
    if (!enabled) return;
    // EVALSHA, with the script sent again by ioredis should Redis have lost it.
    if (!('maasFairTurns' in redis)) redis.defineCommand('maasFairTurns', { numberOfKeys: 2, lua: TURNS_LUA });
    const r = redis as unknown as { maasFairTurns: TurnsCommand };
    this.turns = (...args) => r.maasFairTurns(...args);
  }

  /**
   * BullMQ priorities for jobs of `rows` each that `tenant` queues together on `queue` at
   * public `priority`; `q`: the band's quantum (lanes.ts quantum). Off or outside a fair band:
   * the band's base, without a round trip.
   */
  async priorities(queue: string, tenant: string, priority: number, rows: readonly number[], q: number): Promise<number[]> {
    if (!this.turns || !isFairBand(priority)) return rows.map(() => bullPriority(priority));
    const base = bandBase(priority);
    const out = await this.turns(laneKey(queue, priority), bullPrioritizedKey(queue), tenant, base, TURN_WIDTH, q, LANE_TTL_S, ...rows);
    return out.map(Number);
  }
}

/** FAIR_SHARE: on, off, or auto (on when API_KEYS names two tenants or more). */
export function fairShareEnabled(mode: 'auto' | 'on' | 'off', apiKeys: ReadonlyMap<string, string> | undefined): boolean {
  if (mode !== 'auto') return mode === 'on';
  return new Set(apiKeys?.values() ?? []).size >= 2;
}
