/**
 * Marks a batch canceled in one atomic step, so a cancel can never land on a batch whose last
 * chunk was recorded (and which RECORD_CHUNKS_LUA completed) between a read and a write.
 * KEYS: meta. Returns 1 when the batch is now canceled (or already was, unfinished), 0 when it
 * had completed (nothing changed), -1 when there is no such uploaded batch.
 */
export const CANCEL_BATCH_LUA = `
local m = redis.call('HMGET', KEYS[1], 'uploaded', 'completed_at')
if m[1] ~= '1' then return -1 end
if m[2] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'canceled')
return 1
`;
