/**
 * PURE: rows per ONNX run for a model whose config.json sets no `max_batch_size`.
 *
 * A run's fixed cost (the session's dispatch, each operator's set-up) is shared by its rows,
 * so a model with small rows runs far faster per row in large runs: the shipped MLP (128-byte
 * rows) gives onnxruntime 320–400 k rows/s in runs of 64 and 552–806 k in runs of 1,024 on
 * the machine of BENCHMARKS.md (round 14). A fixed default of 64 made a batch file of such a
 * model run at half of what the model can do. The default is therefore as many rows as make
 * DEFAULT_RUN_BYTES of input (or of output, where a row's outputs are larger), rounded down to
 * a power of two, never fewer than MIN_DEFAULT_MAX_BATCH_SIZE and never more than
 * MAX_DEFAULT_MAX_BATCH_SIZE. A model with large rows (an image, an embedding model's outputs)
 * keeps 64; a run never holds much more than DEFAULT_RUN_BYTES of tensors unless 64 rows
 * already do. `max_batch_size` in config.json
 * overrides it, e.g. to bound a model whose intermediate tensors are far larger than its rows.
 */
import { MIN_DEFAULT_MAX_BATCH_SIZE } from './config.js';
import { rowBytes } from './chunk-size.js';
import type { ModelVersion } from './repository.js';

/** Input (or output) bytes a default run aims for. */
export const DEFAULT_RUN_BYTES = 256 << 10;
/** The most rows a default run holds, however small its rows. */
export const MAX_DEFAULT_MAX_BATCH_SIZE = 1024;

/** `max_batch_size` of a batchable version whose model's config.json sets none. */
export function defaultMaxBatchSize(version: Pick<ModelVersion, 'inputs' | 'outputs'>): number {
  const fit = Math.floor(DEFAULT_RUN_BYTES / rowBytes(version));
  const powerOfTwo = fit >= 1 ? 2 ** Math.floor(Math.log2(fit)) : 0;
  return Math.min(MAX_DEFAULT_MAX_BATCH_SIZE, Math.max(MIN_DEFAULT_MAX_BATCH_SIZE, powerOfTwo));
}
