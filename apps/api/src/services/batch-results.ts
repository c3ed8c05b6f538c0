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
import { checkOutputName, npyResults, type NpyResults } from '../batches/results-form.js';
import { chunkResultPieces, RESULT_PIECE_BYTES } from '../batches/results.js';
import type { ModelCatalog } from './catalog.js';
import type { StopSignal } from './stop-signal.js';

const NO_BYTES = Buffer.alloc(0);

/**
 * Chunks read ahead of the one being written while streaming results. Two hide Redis's round
 * trips as well as eight did (a 16.7 MB NDJSON download: 155-173 ms against 166-197), and a
 * client that stops reading holds fewer chunks until IDLE_TIMEOUT_S lets it go: 60 such
 * downloads of a 320,000-line batch took the API 203 MB, against 372 MB with eight.
 */
const READ_AHEAD = 2;
/**
 * Chunks whose byte counts (`chunkBytes`) a process keeps, over all the answers it keeps them
 * for: a number a chunk (8 MB at most). A batch has up to BATCH_MAX_LINES chunks (a model that
 * cannot batch: one a line), so answers are counted by their chunks, not by themselves.
 */
const KEPT_CHUNK_COUNTS = 1 << 20;

/** Which results: NDJSON lines (all, or `failedOnly`), or one output's `.npy` rows. */
export type ResultsOf = { type: 'ndjson'; failedOnly: boolean } | { type: 'npy'; npy: NpyResults };

/** PURE: a name for each form a batch's results come in (`ndjson`, `failed`, `npy-<output, base64url>`), as their tag and kept counts name it. */
export const resultsFormName = (of: ResultsOf): string =>
  of.type === 'npy' ? `npy-${Buffer.from(of.npy.output).toString('base64url')}` : of.failedOnly ? 'failed' : 'ndjson';

/** A completed batch whose results are to be read (`BatchService.finished`). */
export interface FinishedBatch {
  id: string;
  meta: Record<string, string>;
  k: BatchKeys;
  batch: BatchObject;
}

/**
 * One count of an answer's chunk byte counts (`chunkBytes`): how many of the requests waiting
 * on it are still there; when the last has gone before it is done, it stops (`stopped`).
 */
interface Count {
  counting: Promise<number[]>;
  chunks: number;
  askers: number;
  stopped: boolean;
}

/** Why a count stopped: every request that waited on it went away (`chunkBytes`'s `gone`). */
export class CountAbandoned extends Error {
  constructor() {
    super('every request waiting on the results\' byte count went away');
  }
}

export class BatchResults {
  /**
   * `chunkBytes` of the answers ranges were asked of lately, the least lately asked first (a
   * completed batch's results do not change), and how many chunks they count in all.
   */
  private readonly lengths = new Map<string, Count>();
  private keptChunks = 0;

  constructor(private readonly redis: Redis, private readonly catalog: ModelCatalog) {}

  /** A 400 unless `output` names an output of `done`'s model (results-form.ts `checkOutputName`). */
  checkOutput(done: FinishedBatch, output: string): void {
    let names: string[];
    try {
      names = this.catalog.resolve(done.batch.model, Number(done.batch.version)).version.outputs.map((o) => o.name);
    } catch {
      return; // its version unloaded since: NDJSON results need no outputs' names, so they are served as before
    }
    checkOutputName(done.batch.model, names, output);
  }

  /** The `.npy` results `done` can give for `output` (batches/results-form.ts `npyResults`: a 400 or 406 when none). */
  npyForm(done: FinishedBatch, output: string | undefined): NpyResults {
    const { batch } = done;
    const { version } = this.catalog.resolve(batch.model, Number(batch.version));
    return npyResults({ id: done.id, model: batch.model, outputs: version.outputs, failed: batch.counts.failed, total: batch.counts.total, rows: done.meta['rows'] }, output);
  }

  /**
   * The results in `form`, from chunk `from` on (0: all of them): NDJSON result lines, chunk by
   * chunk in input order (with `failedOnly` only those of lines that failed, for which no
   * chunk's outputs are read), or one output's rows as an `.npy` file (`npyForm`): the header
   * (with chunk 0), then each chunk's raw bytes in input order.
   */
  bytes(done: FinishedBatch, form: ResultsOf, from = 0): AsyncGenerator<Buffer> {
    const pieces = this.pieces(done, form, from);
    return (async function* () {
      for await (const { bytes } of pieces) if (bytes.length > 0) yield bytes;
    })();
  }

  /**
   * How many bytes each chunk adds to `bytes(done, form)` (chunk 0's `.npy` header with it):
   * what a byte range needs to start at the chunk that holds its first byte. Made by reading
   * the whole answer once (NDJSON lines are made as they are sent, so their length is known
   * only once made); `chunkBytes` keeps it for the next range of the same answer, and ranges
   * asked of the same answer at once wait for one count. `gone` is the asking request's client
   * leaving: a count all of whose requests have gone stops, rejecting with CountAbandoned, and
   * is not kept (the next range counts afresh), so a client that asks and leaves does not have
   * a whole batch read for nothing. A request without `gone` keeps its count going.
   */
  chunkBytes(done: FinishedBatch, form: ResultsOf, gone?: StopSignal): Promise<number[]> {
    const key = `${done.id} ${resultsFormName(form)}`;
    const known = this.lengths.get(key);
    if (known) {
      this.lengths.delete(key);
      this.lengths.set(key, known); // asked again: the last to go
      return this.ask(key, known, gone);
    }
    // At least one: the .npy header of a batch of no chunks is chunk 0's.
    const chunks = Math.max(1, Number(done.meta['chunks_total']));
    const count: Count = { counting: Promise.resolve([]), chunks, askers: 0, stopped: false };
    count.counting = (async () => {
      const lengths = new Array<number>(chunks).fill(0);
      for await (const { chunk, bytes } of this.pieces(done, form, 0)) {
        lengths[chunk]! += bytes.length;
        // Other requests between two pieces, as a download gives them (http/pipe-chunks.ts): the
        // chunks read ahead are there already, and would follow one another in microtasks.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (count.stopped) throw new CountAbandoned();
      }
      return lengths;
    })();
    // A count that failed or stopped is not kept.
    count.counting.catch(() => this.forget(key, count));
    if (chunks <= KEPT_CHUNK_COUNTS) {
      this.lengths.set(key, count);
      this.keptChunks += chunks;
      for (const [oldest, kept] of this.lengths) {
        if (this.keptChunks <= KEPT_CHUNK_COUNTS) break;
        this.forget(oldest, kept);
      }
    }
    return this.ask(key, count, gone);
  }

  /** `count`'s lengths for one more request; when its client goes (`gone`) and it was the last, the count stops. */
  private ask(key: string, count: Count, gone: StopSignal | undefined): Promise<number[]> {
    count.askers++;
    if (!gone) return count.counting;
    const leave = () => {
      if (--count.askers > 0) return;
      count.stopped = true;
      this.forget(key, count);
    };
    if (gone.aborted) {
      leave();
      return count.counting;
    }
    gone.addEventListener('abort', leave, { once: true });
    const settled = () => gone.removeEventListener('abort', leave);
    count.counting.then(settled, settled);
    return count.counting;
  }

  private forget(key: string, count: Count): void {
    if (this.lengths.get(key) !== count) return;
    this.lengths.delete(key);
    this.keptChunks -= count.chunks;
  }

  private pieces(done: FinishedBatch, form: ResultsOf, from: number): AsyncGenerator<{ chunk: number; bytes: Buffer }> {
    if (form.type === 'npy') {
      const { npy } = form;
      const chunks = this.finishedChunks(done, { lines: false, from });
      return (async function* () {
        let rest: number[] | undefined;
        for await (const { index, outputs } of chunks) {
          const t = outputs.find((o) => o.name === npy.output);
          if (!t || Array.isArray(t.data)) throw new Error(`chunk without output '${npy.output}'`);
          const shape = t.shape.slice(1);
          // Its Content-Length was sent from the signature's row shape: rows of another would not fill it.
          if (npy.length !== undefined && shape.join() !== npy.rest.join()) throw new AppError('not-acceptable', `output '${npy.output}' has rows of shape [${shape.join(', ')}], not the model's [${npy.rest.join(', ')}]; get the results as NDJSON`);
          if (!rest) {
            rest = shape;
            if (index === 0) yield { chunk: 0, bytes: npyHeader(npy.descr, [npy.rows, ...shape]) };
          }
          // Known only once a chunk of another shape is read (lines of several shapes in one batch):
          // the answer is under way, so the connection is cut (logged as this 406, not as a fault).
          else if (shape.join() !== rest.join()) throw new AppError('not-acceptable', `output '${npy.output}' changes shape between chunks; get the results as NDJSON`);
          yield { chunk: index, bytes: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
        }
        if (!rest && from === 0) yield { chunk: 0, bytes: npyHeader(npy.descr, [0, ...npy.rest]) };
      })();
    }
    const { failedOnly } = form;
    const chunks = this.finishedChunks(done, { outputs: !failedOnly, from });
    return (async function* () {
      for await (const { index, lines, marker, outputs } of chunks) {
        let any = false;
        for (const bytes of chunkResultPieces(lines, marker, outputs, RESULT_PIECE_BYTES, failedOnly)) {
          any = true;
          yield { chunk: index, bytes };
        }
        // A chunk with nothing to say (no failed line, for `failedOnly`) still gives a piece, empty:
        // a count looks between pieces whether its requests have all gone (`chunkBytes`).
        if (!any) yield { chunk: index, bytes: NO_BYTES };
      }
    })();
  }

  /**
   * Every chunk of a completed batch from chunk `from` on, read ahead of the consumer, in
   * order, from the first `next()` on. `lines: false` (`.npy` results, which need only the outputs) leaves each
   * chunk's line list unread: 8,192 entries a chunk to parse for nothing; `outputs: false`
   * (the failed lines alone) leaves the outputs unread.
   */
  private finishedChunks({ id, meta, k }: FinishedBatch, { lines = true, outputs: withOutputs = true, from = 0 } = {}): AsyncGenerator<{ index: number; lines: ReadLines; marker: string | null; outputs: RawTensor[] }> {
    const total = Number(meta['chunks_total']);
    const redis = this.redis;
    // Each read ahead is marked handled as it is made: awaited in turn it still throws, but one
    // that fails while another is awaited, or after the reader stopped (a range's end, a client
    // gone), is no unhandled rejection, which would end the process (a Redis restart mid-read).
    const fetch = (i: number) => {
      const read = Promise.all([lines ? redis.hget(k.lines, String(i)) : null, redis.hget(k.chunks, String(i)), withOutputs ? redis.hgetBuffer(k.outputs, String(i)) : null]);
      read.catch(() => {});
      return read;
    };
    return (async function* () {
      const ahead: ReturnType<typeof fetch>[] = [];
      for (let i = from; i < Math.min(from + READ_AHEAD, total); i++) ahead.push(fetch(i));
      for (let i = from; i < total; i++) {
        const [chunkLines, marker, outputs] = await ahead.shift()!;
        if (i + READ_AHEAD < total) ahead.push(fetch(i + READ_AHEAD));
        // A completed batch records every chunk's outcome and lines: one gone (its retention
        // passed during the download, or Redis evicted it) ends the download as an error, not
        // as a file that looks whole without its lines (a 404 before the first byte).
        if (marker === null || (lines && chunkLines === null) || (withOutputs && outputs === null && ranWithRows(marker))) throw new NotFoundError('batch', id);
        yield {
          index: i,
          lines: readLines(chunkLines),
          marker,
          outputs: outputs ? readTensorRecord(outputs) : [],
        };
      }
    })();
  }
}
