/**
 * BatchRecorder: a worker's side of batch submissions. A chunk's outputs and outcome are
 * written beside its batch by RECORD_CHUNKS_LUA before the chunk job is completed, so a
 * crash in between re-runs the chunk and the script's HSETNX keeps the first record; the
 * call that records the last chunk completes the batch.
 */
import type { Redis } from 'ioredis';
import {
  batchKeys, canceledMarker, dieAt, failedMarker, RECORD_CHUNKS_LUA, succeededMarker, toEncoded,
  type InferenceJobData, type JobError, type RawTensor,
} from '@maas/shared';

export type ChunkRef = NonNullable<InferenceJobData['batch']>;

export class BatchRecorder {
  /** called once when this worker's record completed a batch (webhooks plug in here) */
  onCompleted: ((batchId: string) => Promise<void>) | undefined;

  constructor(private readonly redis: Redis) {}

  private async record(b: ChunkRef, marker: string, outputs: string): Promise<void> {
    const k = batchKeys(b.id);
    const done = await this.redis.eval(RECORD_CHUNKS_LUA, 4, k.meta, k.chunks, k.outputs, k.lines, Date.now(), b.retentionSeconds, String(b.chunk), marker, outputs);
    if (done !== 1) return;
    dieAt('batch-completed');
    await this.onCompleted?.(b.id);
  }

  succeeded(b: ChunkRef, outputs: RawTensor[]): Promise<void> {
    return this.record(b, succeededMarker(b.lines), JSON.stringify(outputs.map(toEncoded)));
  }

  failed(b: ChunkRef, error: JobError): Promise<void> {
    return this.record(b, failedMarker(b.lines, error), '');
  }

  canceled(b: ChunkRef): Promise<void> {
    return this.record(b, canceledMarker(b.lines), '');
  }

  /** Which of these batches were canceled or are gone: their chunks are dropped (one round trip for a run's chunks). */
  async droppedBatches(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const statuses = await Promise.all(ids.map((id) => this.redis.hget(batchKeys(id).meta, 'status')));
    // A batch that is gone (an upload that failed half way, or past its retention) is dropped too.
    return new Set(ids.filter((_, i) => statuses[i] === 'canceled' || statuses[i] === null));
  }
}
