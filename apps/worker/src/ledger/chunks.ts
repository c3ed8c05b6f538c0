/**
 * ChunkLedger: the worker's side of the ledger for batch chunks. A chunk's outputs (their raw
 * bytes, as a tensor record) and outcome are recorded beside its batch (RECORD_CHUNKS_LUA,
 * through recordChunks) before the chunk job is settled, so a crash in between re-runs the
 * chunk and the script's HSETNX keeps the first record. The call that records the last chunk
 * completes the batch and, in the same atomic step, puts its batch.completed in the batch's
 * outbox; this process relays it at once, a sweeper does after the lease if it dies first (e2e
 * "a worker killed right after recording a batch's last chunk").
 */
import type { Redis } from 'ioredis';
import {
  batchKeys, batchSlot, canceledMarker, dieAt, failedMarker, parseMarker, partlyMarker, recordChunks, succeededMarker, tensorRecord,
  type ChunkOutcome, type InferenceJobData, type JobError, type OutboxRelay, type RawTensor, whileRefused,
} from '@maas/shared';

export type ChunkRef = NonNullable<InferenceJobData['batch']>;

export class ChunkLedger {
  constructor(
    private readonly redis: Redis,
    private readonly relay: OutboxRelay,
  ) {}

  /** Resolves true when this outcome is the chunk's first (the one that stays: see the top), false when one was recorded before or the batch is gone. */
  private async record(b: ChunkRef, marker: string, outputs: Buffer | ''): Promise<boolean> {
    // A Redis out of memory for a while is waited out (whileRefused): the outcome is made.
    const { completed, recorded, items } = await whileRefused(() => recordChunks(this.redis, b.id, b.retentionSeconds, [String(b.chunk), marker, outputs]));
    if (completed) {
      dieAt('batch-completed');
      void this.relay.relay(batchSlot(b.id), items);
    }
    return recorded > 0;
  }

  /** `rowErrors`: lines whose rows failed their run alone, by their first rows; `outputs` hold the other lines' rows. */
  succeeded(b: ChunkRef, outputs: RawTensor[], rowErrors?: ReadonlyMap<number, JobError>): Promise<boolean> {
    const marker = rowErrors?.size ? partlyMarker(b.lines, rowErrors) : succeededMarker(b.lines);
    return this.record(b, marker, tensorRecord(outputs));
  }

  failed(b: ChunkRef, error: JobError): Promise<boolean> {
    return this.record(b, failedMarker(b.lines, error), '');
  }

  canceled(b: ChunkRef): Promise<boolean> {
    return this.record(b, canceledMarker(b.lines), '');
  }

  /** The outcome recorded for this chunk with its batch, if one was (the first recorded stays: see the top). */
  async recorded(b: ChunkRef): Promise<ChunkOutcome | undefined> {
    const marker = await this.redis.hget(batchKeys(b.id).chunks, String(b.chunk));
    return marker === null ? undefined : parseMarker(marker);
  }

  /** Which of these batches were canceled or are gone: their chunks are dropped (one round trip for a run's chunks). */
  async droppedBatches(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const statuses = await Promise.all(ids.map((id) => this.redis.hget(batchKeys(id).meta, 'status')));
    // A batch that is gone (an upload that failed half way, or past its retention) is dropped too.
    return new Set(ids.filter((_, i) => statuses[i] === 'canceled' || statuses[i] === null));
  }
}
