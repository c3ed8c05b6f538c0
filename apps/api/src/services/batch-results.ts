/**
 * BatchResults: a completed batch's results read back from Redis, chunk by chunk in input
 * order (CONTRACT §4 "Results"): NDJSON result lines made from each chunk's line list, outcome
 * and output bytes (batches/results.ts), or one output's rows as an `.npy` file, its bytes as
 * the workers stored them. Which batch may be read, and when, is BatchService.finished's.
 */
import type { Redis } from 'ioredis';
import { AppError, NotFoundError, ranWithRows, readTensorRecord, type BatchKeys, type BatchObject, type RawTensor } from '@maas/shared';
import { readLines, type ReadLines } from '../batches/chunk-lines.js';
import { npyHeader } from '../batches/npy.js';
import { npyResults, type NpyResults } from '../batches/results-form.js';
import { chunkResultPieces, RESULT_PIECE_BYTES } from '../batches/results.js';
import type { ModelCatalog } from './catalog.js';

/** Chunks read ahead of the one being written while streaming results. */
const READ_AHEAD = 8;

/** A completed batch whose results are to be read (`BatchService.finished`). */
export interface FinishedBatch {
  id: string;
  meta: Record<string, string>;
  k: BatchKeys;
  batch: BatchObject;
}

export class BatchResults {
  constructor(private readonly redis: Redis, private readonly catalog: ModelCatalog) {}

  /** The `.npy` results `done` can give for `output` (batches/results-form.ts `npyResults`: a 400 or 406 when none). */
  npyForm(done: FinishedBatch, output: string | undefined): NpyResults {
    const { batch } = done;
    const { version } = this.catalog.resolve(batch.model, Number(batch.version));
    return npyResults({ id: done.id, model: batch.model, outputs: version.outputs, failed: batch.counts.failed, total: batch.counts.total, rows: done.meta['rows'] }, output);
  }

  /**
   * The result lines, chunk by chunk in input order; `failedOnly`: only those of lines that
   * failed (`?failed=true`), for which no chunk's outputs are read.
   */
  lines(done: FinishedBatch, failedOnly = false): AsyncGenerator<Buffer> {
    const chunks = this.finishedChunks(done, { outputs: !failedOnly });
    return (async function* () {
      for await (const { lines, marker, outputs } of chunks) yield* chunkResultPieces(lines, marker, outputs, RESULT_PIECE_BYTES, failedOnly);
    })();
  }

  /**
   * The batch's rows of one output as a NumPy `.npy` file (`Accept: application/x-npy`), as
   * `npy` (`npyForm`) describes it: the header, then each chunk's raw bytes in input order.
   */
  npy(done: FinishedBatch, npy: NpyResults): AsyncGenerator<Buffer> {
    const chunks = this.finishedChunks(done, { lines: false });
    return (async function* () {
      let rest: number[] | undefined;
      for await (const chunk of chunks) {
        const t = chunk.outputs.find((o) => o.name === npy.output);
        if (!t || Array.isArray(t.data)) throw new Error(`chunk without output '${npy.output}'`);
        const shape = t.shape.slice(1);
        if (!rest) yield npyHeader(npy.descr, [npy.rows, ...(rest = shape)]);
        // Known only once a chunk of another shape is read (lines of several shapes in one batch):
        // the answer is under way, so the connection is cut (logged as this 406, not as a fault).
        else if (shape.join() !== rest.join()) throw new AppError('not-acceptable', `output '${npy.output}' changes shape between chunks; get the results as NDJSON`);
        yield Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      }
      if (!rest) yield npyHeader(npy.descr, [0, ...npy.rest]);
    })();
  }

  /**
   * Every chunk of a completed batch, read ahead of the consumer, in order, from the first
   * `next()` on. `lines: false` (`.npy` results, which need only the outputs) leaves each
   * chunk's line list unread: 8,192 entries a chunk to parse for nothing; `outputs: false`
   * (the failed lines alone) leaves the outputs unread.
   */
  private finishedChunks({ id, meta, k }: FinishedBatch, { lines = true, outputs: withOutputs = true } = {}): AsyncGenerator<{ lines: ReadLines; marker: string | null; outputs: RawTensor[] }> {
    const total = Number(meta['chunks_total']);
    const redis = this.redis;
    const fetch = (i: number) =>
      Promise.all([lines ? redis.hget(k.lines, String(i)) : null, redis.hget(k.chunks, String(i)), withOutputs ? redis.hgetBuffer(k.outputs, String(i)) : null]);
    return (async function* () {
      const ahead: ReturnType<typeof fetch>[] = [];
      for (let i = 0; i < Math.min(READ_AHEAD, total); i++) ahead.push(fetch(i));
      for (let i = 0; i < total; i++) {
        const [chunkLines, marker, outputs] = await ahead.shift()!;
        if (i + READ_AHEAD < total) ahead.push(fetch(i + READ_AHEAD));
        // A completed batch records every chunk's outcome and lines: one gone (its retention
        // passed during the download, or Redis evicted it) ends the download as an error, not
        // as a file that looks whole without its lines (a 404 before the first byte).
        if (marker === null || (lines && chunkLines === null) || (withOutputs && outputs === null && ranWithRows(marker))) throw new NotFoundError('batch', id);
        yield {
          lines: readLines(chunkLines),
          marker,
          outputs: outputs ? readTensorRecord(outputs) : [],
        };
      }
    })();
  }
}
