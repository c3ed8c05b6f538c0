/**
 * The two ways a batch upload becomes chunk jobs (see services/batches.ts), as streams of
 * chunks in input order:
 *
 * - NDJSON (CONTRACT §4): lines are parsed and checked one by one (a bad line fails alone)
 *   and joined by the Chunker.
 * - `.npy` (an extension, for uploads where JSON text is the cost): the array's rows are cut
 *   into chunks as raw bytes; row i is result line i, with custom_id "i".
 *
 * Both count what they read into `counts` as they go.
 */
import { AppError, DATATYPE_INFO, type BlockPool, type Signature } from '@maas/shared';
import { Chunker, type Chunk } from './chunker.js';
import { parseLine, rowPlan } from './line.js';
import { ndjsonLines } from './ndjson.js';
import { npyRowBlocks, npyTarget } from './npy.js';

export type BatchFormat = 'ndjson' | 'npy';

export interface SourceLimits {
  /** rows per chunk (the model's batch size) */
  chunkRows: number;
  maxLines: number;
  maxLineBytes: number;
}

export interface SourceCounts {
  /** request lines (NDJSON) or rows (.npy) */
  total: number;
  invalid: number;
}

const tooMany = (max: number) => new AppError('payload-too-large', `a batch holds at most ${max} lines`);

export async function* ndjsonChunks(body: AsyncIterable<Buffer>, sig: Signature, limits: SourceLimits, counts: SourceCounts, blocks?: BlockPool): AsyncGenerator<Chunk> {
  const chunker = new Chunker(limits.chunkRows, blocks);
  const plan = rowPlan(sig);
  for await (const lines of ndjsonLines(body, limits.maxLineBytes, limits.maxLines)) {
    for (const { n, buf, start, end } of lines) {
      counts.total++;
      // The common line (float inputs, compact or tensor form) goes straight into its chunk; any other is parsed, then added.
      let closed = plan ? chunker.addRow(buf, start, end, n, plan) : undefined;
      if (!closed) {
        const parsed = parseLine(buf, n, sig, start, end);
        if (!parsed.ok) counts.invalid++;
        closed = chunker.add(parsed);
      }
      // Most lines close no chunk: `yield*` of their empty list would still cost an await each.
      for (let i = 0; i < closed.length; i++) yield closed[i]!;
    }
  }
  const last = chunker.finish();
  if (last) yield last;
}

export async function* npyChunks(body: AsyncIterable<Buffer>, sig: Signature, limits: SourceLimits, counts: SourceCounts, blocks?: BlockPool): AsyncGenerator<Chunk> {
  const target = npyTarget(sig);
  const itemBytes = DATATYPE_INFO[target.datatype].bytes;
  let index = 0;
  for await (const block of npyRowBlocks(body, target, itemBytes, limits.chunkRows, limits.maxLines, tooMany(limits.maxLines), blocks)) {
    counts.total += block.rows;
    yield {
      index: index++,
      lines: { first: block.first, rows: block.rows },
      rows: block.rows,
      linesWithRows: block.rows,
      inputs: [{ name: target.name, datatype: target.datatype, shape: [block.rows, ...block.rest], data: block.data }],
    };
  }
}

/**
 * The chunks of an upload in `format`, their input bytes in memory from `blocks` (shared block-pool.ts:
 * the caller gives each chunk's back once its bytes are stored).
 */
export function batchChunks(
  format: BatchFormat, body: AsyncIterable<Buffer>, sig: Signature, limits: SourceLimits, counts: SourceCounts, blocks?: BlockPool,
): AsyncGenerator<Chunk> {
  return format === 'npy' ? npyChunks(body, sig, limits, counts, blocks) : ndjsonChunks(body, sig, limits, counts, blocks);
}
