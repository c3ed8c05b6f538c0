/**
 * Scripts over the worker registry's keys (queues.ts: WORKERS_*), shared by the workers'
 * heartbeats and the API's directory. Each is one atomic step, so a worker that stops or starts
 * again meanwhile is never caught half-way (a reader that read the registry, then wrote, could
 * drop a stopped worker's last counts or a restarted one's live metrics).
 */

/**
 * Forgets the workers that stopped cleanly more than ARGV[1] ms ago on Redis's clock: their
 * WORKERS_GONE_KEY entry (KEYS[1]) and their last metrics (KEYS[2]). Returns how many.
 */
export const FORGET_GONE_LUA = `local t = redis.call('TIME')
local before = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', before)
for _, id in ipairs(old) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return #old`;

/**
 * Forgets the workers that died without leaving, ARGV being pairs of an id and the heartbeat
 * score it was read dead at: their heartbeat (KEYS[1]) and description (KEYS[2]), unless they
 * beat since (a worker started again under its id: its score moved), and their metrics
 * (KEYS[3]) unless they left cleanly meanwhile (an entry in WORKERS_GONE_KEY, KEYS[4]: their
 * last counts stay for it).
 */
export const FORGET_DEAD_LUA = `local forgotten = 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], id) == ARGV[i + 1] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    if not redis.call('ZSCORE', KEYS[4], id) then redis.call('HDEL', KEYS[3], id) end
    forgotten = forgotten + 1
  end
end
return forgotten`;
