/** A batch's Redis records → the public batch object (CONTRACT §4); pure but for readBatch. */
import type { Redis } from 'ioredis';
import { parseMarker, type BatchObject, type BatchStatus } from '../contract/batch.js';
import type { JobError } from '../contract/job.js';
import { batchKeys } from '../queues.js';

/** The `meta` hash of a batch, as Redis returns it. */
export type BatchMeta = Record<string, string>;

const iso = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : null);

export function batchCounts(meta: BatchMeta, markers: readonly string[]) {
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

export function toBatchObject(id: string, meta: BatchMeta, markers: readonly string[]): BatchObject {
  return {
    id,
    object: 'batch',
    model: meta['model'] ?? '',
    version: meta['version'] ?? '',
    status: (meta['status'] ?? 'queued') as BatchStatus,
    counts: batchCounts(meta, markers),
    created_at: iso(meta['created_at'])!,
    started_at: iso(meta['started_at']),
    completed_at: iso(meta['completed_at']),
    expires_at: iso(meta['expires_at']),
    webhook: meta['webhook'] || null,
    error: meta['error'] ? (JSON.parse(meta['error']) as JobError) : null,
  };
}

/** The batch's records as stored (meta hash and chunk markers), for toBatchObject. */
export async function readBatch(redis: Redis, id: string): Promise<{ meta: BatchMeta; markers: string[] }> {
  const k = batchKeys(id);
  const [meta, markers] = await Promise.all([redis.hgetall(k.meta), redis.hvals(k.chunks)]);
  return { meta, markers };
}
