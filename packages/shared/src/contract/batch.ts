/**
 * Batch submissions (CONTRACT §4): the public batch object, the per-chunk records kept in
 * Redis, and the atomic script that records a chunk's outcome and completes the batch.
 */
import type { JobError } from './job.js';

export const BATCH_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export interface BatchObject {
  id: string;
  object: 'batch';
  model: string;
  version: string;
  status: BatchStatus;
  counts: { total: number; succeeded: number; failed: number };
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** when the batch and its results are removed (set once it completes) */
  expires_at: string | null;
  webhook: string | null;
  error: JobError | null;
}

/**
 * One input line as kept with its chunk: [custom_id, rows, compact (1) or tensor (0) form,
 * error]. A line with an error has no rows in the chunk; its result is the error.
 */
export type ChunkLine = [customId: string, rows: number, compact: 0 | 1, error?: JobError];

/**
 * A chunk's outcome in the `chunks` hash: `s:<lines>` (ran), `p:<lines>:<json>` (ran, but for
 * some lines whose rows failed their run: `{"<row>": error}`, each such line by its first row,
 * counted from 0 among the chunk's rows; the outputs hold the other lines' rows only), `f:<lines>:<error json>` (failed), `c:<lines>`
 * (canceled before it ran). <lines> counts the chunk's lines that had rows.
 */
export type ChunkMarker = string;

export interface ChunkOutcome {
  kind: 's' | 'p' | 'f' | 'c';
  lines: number;
  /** 'f': why */
  error?: JobError;
  /** 'p': the lines that failed, by their first rows, each with its error */
  rowErrors?: Map<number, JobError>;
}

export function parseMarker(marker: string): ChunkOutcome {
  const kind = marker[0] as ChunkOutcome['kind'];
  const rest = marker.slice(2);
  const colon = rest.indexOf(':');
  if (kind === 'f' && colon >= 0) return { kind, lines: Number(rest.slice(0, colon)), error: JSON.parse(rest.slice(colon + 1)) as JobError };
  if (kind === 'p' && colon >= 0) {
    const rows = JSON.parse(rest.slice(colon + 1)) as Record<string, JobError>;
    return { kind, lines: Number(rest.slice(0, colon)), rowErrors: new Map(Object.entries(rows).map(([row, e]) => [Number(row), e])) };
  }
  return { kind, lines: Number(rest) };
}

/** Whether a chunk's outcome says it ran rows (`s:`/`p:` with lines), so its outputs are stored beside it (an empty record when none succeeded); read without parsing a `p:` record's errors. */
export const ranWithRows = (marker: ChunkMarker): boolean => /^[sp]:[1-9]/.test(marker);

export const succeededMarker = (lines: number): ChunkMarker => `s:${lines}`;
export const partlyMarker = (lines: number, rowErrors: ReadonlyMap<number, JobError>): ChunkMarker => `p:${lines}:${JSON.stringify(Object.fromEntries(rowErrors))}`;
export const failedMarker = (lines: number, error: JobError): ChunkMarker => `f:${lines}:${JSON.stringify(error)}`;
export const canceledMarker = (lines: number): ChunkMarker => `c:${lines}`;

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
 * Records chunk outcomes (HSETNX: a chunk re-run after a crash cannot count twice), then
 * completes the batch when the upload has ended and every chunk has an outcome: sets
 * completed_at and the final status once, and gives every key of the batch its retention TTL
 * (until then, a week's grace beyond it, so an abandoned batch is dropped eventually).
 * When it completes a batch that has a webhook, it also puts the batch.completed entry in the
 * batch's outbox (packages/shared/src/ledger), in the same atomic step, due for a sweeper
 * after the lease: the caller relays it at once, a sweeper does if the caller dies first.
 * KEYS: meta, chunks, outputs, lines, outbox due, outbox events. ARGV: now (ms), retention
 * (s), lease (ms), event id, outbox entry, then (chunk, marker, outputs or '') triples
 * (outputs: a tensor record, tensors/record.ts).
 * Returns 1 when this call completed the batch. A batch that is gone (an upload abandoned
 * half way, or past its retention) records nothing.
 */
export const RECORD_CHUNKS_LUA = `
local now, ttl = ARGV[1], tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 6, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1]) == 1 and ARGV[i + 2] ~= '' then
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2])
  end
end
for k = 2, 3 do
  if redis.call('TTL', KEYS[k]) == -1 then redis.call('EXPIRE', KEYS[k], ttl + 604800) end
end
if #ARGV > 5 and redis.call('HGET', KEYS[1], 'status') == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', now)
end
local m = redis.call('HMGET', KEYS[1], 'uploaded', 'chunks_total', 'completed_at', 'status')
if m[1] == '1' and not m[3] and tonumber(m[2]) == redis.call('HLEN', KEYS[2]) then
  local final = 'succeeded'
  if m[4] == 'canceled' or m[4] == 'failed' then final = m[4] end
  redis.call('HSET', KEYS[1], 'completed_at', now, 'status', final, 'expires_at', tonumber(now) + ttl * 1000)
  for k = 1, 4 do redis.call('EXPIRE', KEYS[k], ttl) end
  local hook = redis.call('HGET', KEYS[1], 'webhook')
  if hook and hook ~= '' then
    redis.call('ZADD', KEYS[5], 'NX', tonumber(now) + tonumber(ARGV[3]), ARGV[4])
    redis.call('HSETNX', KEYS[6], ARGV[4], ARGV[5])
  end
  return 1
end
return 0
`;
