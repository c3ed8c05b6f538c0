/**
 * The ledger's atomic steps (Lua): each records an ending once — the first writer wins, a
 * second finds it set and changes nothing — and queues its webhook events in the outbox of
 * the same hash slot (a transactional outbox). Entries are written due after a lease: the
 * writer relays them at once (relay.ts), a sweeper takes them after the lease if it died.
 * A batch's steps are in batch-scripts.ts; its ending (RECORD_CHUNKS_LUA) follows the same rule.
 */

/**
 * Records the endings of jobs of one queue: sets each job's `ended` marker unless one is set
 * (with a completion's result, `endedResult`: a run after a crash settles with it, so the job
 * reads as its event said), and puts its event (if any) in the queue's outbox.
 * KEYS: outbox due, outbox events, then each job's BullMQ hash. ARGV: now (ms), lease (ms),
 * then per job (marker, event id or '', entry or '', result or ''). Returns per job a pair:
 * ('', '') when this call recorded its ending, else (the marker already there, its result or
 * ''), or ('gone', '') when the job no longer exists.
 */
export const END_JOBS_LUA = `
local due = tonumber(ARGV[1]) + tonumber(ARGV[2])
local out = {}
for i = 3, #KEYS do
  local a = 3 + (i - 3) * 4
  local prior = redis.call('HGET', KEYS[i], 'ended')
  if prior then
    out[#out + 1] = { prior, redis.call('HGET', KEYS[i], 'endedResult') or '' }
  elseif redis.call('EXISTS', KEYS[i]) == 0 then
    out[#out + 1] = { 'gone', '' }
  else
    redis.call('HSET', KEYS[i], 'ended', ARGV[a])
    if ARGV[a + 3] ~= '' then redis.call('HSET', KEYS[i], 'endedResult', ARGV[a + 3]) end
    if ARGV[a + 1] ~= '' then
      redis.call('ZADD', KEYS[1], 'NX', due, ARGV[a + 1])
      redis.call('HSETNX', KEYS[2], ARGV[a + 1], ARGV[a + 2])
    end
    out[#out + 1] = { '', '' }
  end
end
return out
`;

/**
 * Cancels a job for the API. A job already finished, or ended by the ledger, keeps its ending
 * (returned: 'finished', or '=' and its marker). Otherwise the job is marked in the canceled set; one a
 * worker holds (its lock exists) is 'running' and its worker ends it, while a queued one is
 * ended here as canceled, with its job.completed in the outbox: 'canceled'. 'gone': no such job.
 * A queued job canceled here also gets BullMQ's deferred failure (`defa`, the field BullMQ's own
 * stalled-job check sets for a job stalled too often): the worker that fetches it fails it at
 * once with that reason and never hands it to its processor, so a worker needs no Redis read
 * of its own to know a job it just fetched was not canceled while queued.
 * KEYS: outbox due, outbox events, job hash, job lock, canceled set.
 * ARGV: now (ms), lease (ms), job id, canceled-set retention (ms), event id or '', entry or '',
 * the failure reason (encodeJobError of the cancel).
 */
export const CANCEL_JOB_LUA = `
if redis.call('EXISTS', KEYS[3]) == 0 then return 'gone' end
local prior = redis.call('HGET', KEYS[3], 'ended')
if prior then return '=' .. prior end
if redis.call('HEXISTS', KEYS[3], 'finishedOn') == 1 then return 'finished' end
local now = tonumber(ARGV[1])
redis.call('ZADD', KEYS[5], 'NX', now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[4]))
if redis.call('EXISTS', KEYS[4]) == 1 then return 'running' end
redis.call('HSET', KEYS[3], 'ended', 'canceled', 'defa', ARGV[7])
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[1], 'NX', now + tonumber(ARGV[2]), ARGV[5])
  redis.call('HSETNX', KEYS[2], ARGV[5], ARGV[6])
end
return 'canceled'
`;

/**
 * Takes the due entries of a queue's deadlines set (the API's expiry sweep, services/expiry.ts)
 * and says which to expire: a job gone, finished or already ended leaves the set, and so does
 * one a worker took before (`processedOn`: it runs to its end, on another worker if that one
 * died, however long it waits for it); one a worker holds (its lock) is looked at again
 * `recheck` ms later (it may still go back to the queue); any other is claimed, its entry
 * pushed `claim` ms ahead (so a sweeper that dies or fails with it leaves it to the next), and
 * returned. The job keys are the queue's (one hash slot).
 * KEYS: the deadlines set. ARGV: now (ms; entries before it are due), max entries, the queue's
 * job key prefix, recheck (ms), claim (ms). Returns {entries looked at, id, id…}.
 */
export const DUE_DEADLINES_LUA = `
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = { #due }
for _, id in ipairs(due) do
  local job = ARGV[3] .. id
  if redis.call('EXISTS', job) == 0 or redis.call('HEXISTS', job, 'finishedOn') == 1 or redis.call('HEXISTS', job, 'ended') == 1
    or redis.call('HEXISTS', job, 'processedOn') == 1 then
    redis.call('ZREM', KEYS[1], id)
  elseif redis.call('EXISTS', job .. ':lock') == 1 then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), id)
  else
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), id)
    out[#out + 1] = id
  end
end
return out
`;

/**
 * Expires a job for the API at its deadline (`timeout_ms`, services/expiry.ts), as CANCEL_JOB_LUA
 * cancels one: a queued job (no worker holds it) is ended here, failed as expired, with its
 * job.completed in the outbox, and given the same failure deferred (`defa`), so the worker that
 * fetches it fails it at once and never runs it. 'expired', or 'running' (a worker holds it, or
 * took it before and died: `processedOn`; a worker ends it), 'finished', '=' and the ending a
 * writer recorded before, 'gone'.
 * KEYS: outbox due, outbox events, job hash, job lock.
 * ARGV: now (ms), lease (ms), event id or '', entry or '', end marker, the failure reason.
 */
export const EXPIRE_JOB_LUA = `
if redis.call('EXISTS', KEYS[3]) == 0 then return 'gone' end
local prior = redis.call('HGET', KEYS[3], 'ended')
if prior then return '=' .. prior end
if redis.call('HEXISTS', KEYS[3], 'finishedOn') == 1 then return 'finished' end
if redis.call('EXISTS', KEYS[4]) == 1 or redis.call('HEXISTS', KEYS[3], 'processedOn') == 1 then return 'running' end
redis.call('HSET', KEYS[3], 'ended', ARGV[5], 'defa', ARGV[6])
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], 'NX', tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[3])
  redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4])
end
return 'expired'
`;

/**
 * Cancels a member of a carrier job (payloads.ts `members`) for the API: recorded in the
 * canceled set only while the carrier is queued, so the member's ending is then 'canceled'
 * whatever the carrier does (views/job.ts toMemberObject). 'running': a worker holds the
 * carrier, the member runs on; 'finished': the carrier ended; 'gone': no such carrier.
 * Members have no webhooks (only jobs without one are packed), so no outbox entry.
 * KEYS: carrier hash, carrier lock, canceled set. ARGV: now (ms), member id, canceled-set retention (ms).
 */
export const CANCEL_MEMBER_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if redis.call('ZSCORE', KEYS[3], ARGV[2]) then return 'canceled' end
if redis.call('HEXISTS', KEYS[1], 'ended') == 1 or redis.call('HEXISTS', KEYS[1], 'finishedOn') == 1 then return 'finished' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'running' end
local now = tonumber(ARGV[1])
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[3]))
return 'canceled'
`;

/**
 * A sweeper takes the due entries of one outbox: each is leased again (so one sweeper at a
 * time relays it) and returned. KEYS: outbox due, outbox events, and for a batch's outbox its
 * meta hash. ARGV: now (ms), lease (ms), max entries. Returns {idle, id, entry, id, entry…};
 * idle = 1 when the outbox is empty and will stay so (its batch completed or is gone).
 */
export const CLAIM_OUTBOX_LUA = `
local now = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {0}
for _, id in ipairs(ids) do
  local e = redis.call('HGET', KEYS[2], id)
  if e then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), id)
    out[#out + 1] = id
    out[#out + 1] = e
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
if KEYS[3] and redis.call('ZCARD', KEYS[1]) == 0 and
   (redis.call('EXISTS', KEYS[3]) == 0 or redis.call('HEXISTS', KEYS[3], 'completed_at') == 1) then
  out[1] = 1
end
return out
`;

/**
 * Queues job.start events of jobs of one queue that became active, unless a job has ended
 * (its `ended` marker is set: a re-run after a crash): no start after an end. A job canceled
 * while it was being fetched (the cancel found it held) still gets its start: it is about to
 * run, and its rows run unless a cancel check drops them first, so its job.completed may say
 * succeeded (before, a run that won the race completed with no job.start).
 * KEYS: outbox due, outbox events, then each job's BullMQ hash.
 * ARGV: now (ms), lease (ms), then per job (job id, event id, entry). Returns the event ids queued.
 */
export const START_JOBS_LUA = `
local due = tonumber(ARGV[1]) + tonumber(ARGV[2])
local out = {}
for i = 3, #KEYS do
  local a = 3 + (i - 3) * 3
  if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('HEXISTS', KEYS[i], 'ended') == 0 then
    redis.call('ZADD', KEYS[1], 'NX', due, ARGV[a + 1])
    redis.call('HSETNX', KEYS[2], ARGV[a + 1], ARGV[a + 2])
    out[#out + 1] = ARGV[a + 1]
  end
end
return out
`;
