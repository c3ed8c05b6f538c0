/** A batch's Redis records → the public batch object (CONTRACT §4); pure but for readBatch. */
import type { Redis } from 'ioredis';
import { parseMarker, type BatchObject, type BatchStatus } from '../contract/batch.js';
import type { JobError } from '../contract/job.js';
import { batchKeys } from '../queues.js';

/** The `meta` hash of a batch, as Redis returns it. */
export type BatchMeta = Record<string, string>;

export type BatchCounts = BatchObject['counts'];

const iso = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : null);

/** A batch's counts from every chunk's outcome (`markers`): for a batch whose kept counts are incomplete (see readBatch). */
export function batchCounts(meta: BatchMeta, markers: readonly string[]): BatchCounts {
  let succeeded = 0;
  let failed = Number(meta['invalid'] ?? 0);
  for (const m of markers) {
    const { kind, lines, rowErrors } = parseMarker(m);
    if (kind === 's') succeeded += lines;
    else if (kind === 'p') {
      succeeded += lines - rowErrors!.size;
      failed += rowErrors!.size;
    } else failed += lines;
  }
  return { total: Number(meta['total'] ?? 0), succeeded, failed };
}

/**
 * A batch's counts as RECORD_CHUNKS_LUA keeps them in `meta`, when they hold all `chunksRecorded`
 * outcomes; undefined when they do not (outcomes recorded by a release that kept no counts).
 */
export function keptCounts(meta: BatchMeta, chunksRecorded: number): BatchCounts | undefined {
  if (Number(meta['counted_chunks'] ?? 0) !== chunksRecorded) return undefined;
  return {
    total: Number(meta['total'] ?? 0),
    succeeded: Number(meta['succeeded_lines'] ?? 0),
    failed: Number(meta['invalid'] ?? 0) + Number(meta['failed_lines'] ?? 0),
  };
}

export function toBatchObject(id: string, meta: BatchMeta, counts: BatchCounts): BatchObject {
  return {
    id,
    object: 'batch',
    model: meta['model'] ?? '',
    version: meta['version'] ?? '',
    status: (meta['status'] ?? 'queued') as BatchStatus,
    counts,
    created_at: iso(meta['created_at'])!,
    started_at: iso(meta['started_at']),
    completed_at: iso(meta['completed_at']),
    expires_at: iso(meta['expires_at']),
    webhook: meta['webhook'] || null,
    error: meta['error'] ? (JSON.parse(meta['error']) as JobError) : null,
  };
}

/**
 * A batch's meta hash (as HGETALL's flat list) and how many chunks have an outcome, read at
 * once. A script of reads only, not a MULTI: Redis refuses every command queued in a MULTI
 * while it is out of memory, reads too, and a batch's status and results were 503s then while
 * jobs read fine (a Redis audit).
 */
const READ_BATCH_LUA = `return { redis.call('HGETALL', KEYS[1]), redis.call('HLEN', KEYS[2]) }`;

/**
 * A batch's `meta` and counts, for toBatchObject: two reads at once (no outcome recorded
 * between them) that cost the same for any size of batch (the kept counts, see keptCounts),
 * or, for a batch with outcomes recorded by an older release, every outcome read once more (HVALS).
 */
export async function readBatch(redis: Redis, id: string): Promise<{ meta: BatchMeta; counts: BatchCounts }> {
  const k = batchKeys(id);
  const [flat, chunksRecorded] = (await redis.eval(READ_BATCH_LUA, 2, k.meta, k.chunks)) as [string[], number];
  const meta: BatchMeta = {};
  for (let i = 0; i + 1 < flat.length; i += 2) meta[flat[i]!] = flat[i + 1]!;
  const counts = keptCounts(meta, chunksRecorded) ?? batchCounts(meta, await redis.hvals(k.chunks));
  return { meta, counts };
}
