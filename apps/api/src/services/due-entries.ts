/**
 * Entries of a sorted set scored by when they are due (an upload's lease end, a canceled batch's
 * next look), taken by one API process at a time: pushing a due entry's score ahead is the
 * claim, so only one sweeper gets it, and one that fails or dies half way leaves it due again
 * once the new score has passed, for the next sweep to take up.
 */
import type { Redis } from 'ioredis';

/** KEYS: the set. ARGV: id, now (ms), the new score (ms). 1 when the entry was due and is now this caller's. */
const TAKE_DUE_LUA = `
local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not at or tonumber(at) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
`;

/** The ids of `key` due by `now`, `limit` at most (each still to be taken: `takeDue`). */
export function dueIds(redis: Redis, key: string, now: number, limit: number): Promise<string[]> {
  return redis.zrangebyscore(key, '-inf', now, 'LIMIT', 0, limit);
}

/** Takes entry `id` of `key` if it is due by `now`, pushing it to `until`; false when it was not due (another process took it). */
export async function takeDue(redis: Redis, key: string, id: string, now: number, until: number): Promise<boolean> {
  return (await redis.eval(TAKE_DUE_LUA, 1, key, id, now, until)) === 1;
}
