/**
 * The ledger's atomic steps on a batch (Lua), each on the keys of the batch's one hash slot:
 * its start, its chunks' outcomes (and its completion, with its batch.completed in the outbox,
 * as the job scripts of scripts.ts record endings), and its cancel. Called through record.ts.
 */

/**
 * Marks a batch running from when a worker first takes one of its chunks (its `started_at`),
 * if it is still queued: before, that was when the first chunk's outcome was recorded, so a
 * one-chunk batch started when it completed. KEYS: meta. ARGV: now (ms).
 */
export const START_BATCH_LUA = `
if redis.call('HGET', KEYS[1], 'status') == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1])
  return 1
end
return 0
`;

/**
 * Records chunk outcomes (HSETNX: a chunk re-run after a crash cannot count twice) and adds
 * their lines to the batch's counts in `meta` (succeeded_lines, failed_lines, and counted_chunks:
 * how many outcomes those hold; readBatch reads them instead of every outcome), then
 * completes the batch when the upload has ended and every chunk has an outcome: sets
 * completed_at and the final status once, and gives every key of the batch its retention TTL
 * (until then, a week's grace beyond it, so an abandoned batch is dropped eventually). The
 * final status is `canceled` for a canceled batch, else `succeeded` if any line succeeded or
 * none ran (every line failed the API's checks: a bad line fails alone, CONTRACT §4), else
 * `failed` with an `error`: the type of a chunk's failure, else of a line's run. A batch is running (`started_at`) from when a
 * worker takes its first chunk (START_BATCH_LUA), or else from the first outcome a worker
 * recorded, never from the API's of a chunk with no rows (`s:0`).
 * When it completes a batch that has a webhook, it also puts the batch.completed entry in the
 * batch's outbox (packages/shared/src/ledger), in the same atomic step, due for a sweeper
 * after the lease: the caller relays it at once, a sweeper does if the caller dies first.
 * KEYS: meta, chunks, outputs, lines, outbox due, outbox events. ARGV: now (ms), retention
 * (s), lease (ms), event id, outbox entry, then (chunk, marker, outputs or '') triples
 * (outputs: a tensor record, tensors/record.ts).
 * Returns {completed, recorded}: completed 1 when this call completed the batch; recorded, how
 * many of its outcomes were the first of their chunk (those the HSETNX kept), so a chunk's
 * ending is counted once, by the writer that recorded it (a re-run after a crash finds its
 * outcome there). A batch that is gone (an upload abandoned half way, or past its retention)
 * records nothing: {0, 0}.
 */
export const RECORD_CHUNKS_LUA = `
local now, ttl = ARGV[1], tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then return { 0, 0 } end
-- What a chunk's outcome says: how many of its lines succeeded and failed, and the type of its
-- failure ('f': the chunk's, then nil; 'p': nil, then a line's run's). As batchCounts counts them.
local function tally(marker)
  local kind = string.sub(marker, 1, 1)
  local colon = string.find(marker, ':', 3, true)
  if kind == 's' or kind == 'c' then
    local lines = tonumber(string.sub(marker, 3)) or 0
    if kind == 's' then return lines, 0, nil, nil end
    return 0, lines, nil, nil
  end
  local lines = tonumber(string.sub(marker, 3, colon - 1)) or 0
  if kind == 'f' then return 0, lines, cjson.decode(string.sub(marker, colon + 1))['type'], nil end
  local failed, lineType = 0, nil
  for _, e in pairs(cjson.decode(string.sub(marker, colon + 1))) do
    failed = failed + 1
    lineType = lineType or e['type']
  end
  return lines - failed, failed, nil, lineType
end
local ran, recorded, okLines, failedLines = false, 0, 0, 0
for i = 6, #ARGV, 3 do
  local marker = ARGV[i + 1]
  if redis.call('HSETNX', KEYS[2], ARGV[i], marker) == 1 then
    recorded = recorded + 1
    if ARGV[i + 2] ~= '' then redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2]) end
    if string.sub(marker, 1, 1) ~= 'c' and marker ~= 's:0' then ran = true end
    local ok, failed = tally(marker)
    okLines, failedLines = okLines + ok, failedLines + failed
  end
end
if okLines > 0 then redis.call('HSET', KEYS[1], 'succeeded_any', '1') end
-- The batch's line counts, kept as outcomes are recorded, so reading them costs nothing per chunk;
-- counted_chunks says how many outcomes they hold (readBatch trusts them when it equals HLEN).
if recorded > 0 then
  redis.call('HINCRBY', KEYS[1], 'succeeded_lines', okLines)
  redis.call('HINCRBY', KEYS[1], 'failed_lines', failedLines)
  redis.call('HINCRBY', KEYS[1], 'counted_chunks', recorded)
end
for k = 2, 3 do
  if redis.call('TTL', KEYS[k]) == -1 then redis.call('EXPIRE', KEYS[k], ttl + 604800) end
end
if ran and redis.call('HGET', KEYS[1], 'status') == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', now)
end
local m = redis.call('HMGET', KEYS[1], 'uploaded', 'chunks_total', 'completed_at', 'status', 'total', 'succeeded_any')
if m[1] == '1' and not m[3] and tonumber(m[2]) == redis.call('HLEN', KEYS[2]) then
  local final = 'succeeded'
  if m[4] == 'canceled' then final = 'canceled' end -- 'failed' is written only with completed_at, below
  -- A line succeeded (noted as its chunk was recorded): no need to read every chunk's outcome,
  -- which only a batch with no success (or one an older worker recorded) pays for, once.
  -- Lines that failed their checks alone (the API's, recorded with their chunk's line list) fail
  -- only themselves, as CONTRACT §4 says of a bad line: such a batch still ends succeeded.
  if final == 'succeeded' and not m[6] then
    local any, chunkType, lineType = false, nil, nil
    for _, v in ipairs(redis.call('HVALS', KEYS[2])) do
      local ok, _, chunkFailure, lineFailure = tally(v)
      if ok > 0 then any = true break end
      chunkType = chunkType or chunkFailure
      lineType = lineType or lineFailure
    end
    if not any and (chunkType or lineType) then
      final = 'failed'
      redis.call('HSET', KEYS[1], 'error', cjson.encode({ type = chunkType or lineType,
        message = "none of its " .. (m[5] or '0') .. " lines succeeded: each line's error is in its results" }))
    end
  end
  redis.call('HSET', KEYS[1], 'completed_at', now, 'status', final, 'expires_at', tonumber(now) + ttl * 1000)
  for k = 1, 4 do redis.call('EXPIRE', KEYS[k], ttl) end
  local hook = redis.call('HGET', KEYS[1], 'webhook')
  if hook and hook ~= '' then
    redis.call('ZADD', KEYS[5], 'NX', tonumber(now) + tonumber(ARGV[3]), ARGV[4])
    redis.call('HSETNX', KEYS[6], ARGV[4], ARGV[5])
  end
  return { 1, recorded }
end
return { 0, recorded }
`;

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

/**
 * An upload's end and its removal exclude each other on the batch's `meta` hash, so neither can
 * slip in between the other's read and write: a batch is marked uploaded only if no removal
 * has begun (an API that could not renew its upload lease, and whose upload a sweeper took),
 * and a removal begins only on a batch not marked uploaded (one whose API died after marking
 * it is finished by the sweeper instead: listed, and completed if its chunks all ran).
 * An upload is marked only when every chunk it queued is still in Redis: each chunk, once
 * queued, counts itself in meta's `chunks_landed` (CHUNK_LANDED_LUA), and a Redis restarted empty
 * or restored from an older copy while the upload ran has lost the count with the chunks (a
 * disaster-recovery audit: a batch accepted without 2 of its 8 chunks ran forever).
 * MARK_UPLOADED: KEYS: meta. ARGV: the chunks queued (written as `chunks_total`), then
 * field/value pairs. Returns 1 when marked, 0 when a removal began, -1 when the batch or some of
 * its chunks are gone.
 */
export const MARK_UPLOADED_LUA = `
if redis.call('HEXISTS', KEYS[1], 'tenant') == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'removing') == 1 then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'chunks_landed') or '0') < tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[1], 'uploaded', '1', 'chunks_total', ARGV[1], unpack(ARGV, 2))
return 1
`;

/**
 * CHUNK_LANDED: KEYS: meta. Counts one more chunk as queued (`chunks_landed`), only in a meta
 * that still holds its batch (its `tenant`): a meta Redis lost is never made again by the
 * count (an HINCRBY made one of only `chunks_landed`, without a TTL, which MARK_UPLOADED then
 * took for the batch: a review).
 */
export const CHUNK_LANDED_LUA = `
if redis.call('HEXISTS', KEYS[1], 'tenant') == 1 then redis.call('HINCRBY', KEYS[1], 'chunks_landed', 1) end
return 1
`;

/** CLAIM_REMOVAL: KEYS: meta. Returns 1 when the removal may go ahead (also for a batch with no meta), 0 when it was uploaded. */
export const CLAIM_REMOVAL_LUA = `
if redis.call('HGET', KEYS[1], 'uploaded') == '1' then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'removing', '1') end
return 1
`;
