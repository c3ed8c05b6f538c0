/**
 * PURE: how many rows one batch-file chunk (one BullMQ job) holds.
 *
 * A chunk is the unit of queueing, not of inference: it holds many ONNX runs' worth of rows
 * (about CHUNK_BYTES of input, or of output where a row's outputs are larger), so the per-job
 * cost (a script to enqueue, fetch, lock and complete it, a record of its outputs) is paid
 * once per thousands of rows, whatever the model's `max_batch_size`. The worker spreads a
 * chunk over runs of `max_batch_size` rows. Rows are a multiple of `max_batch_size`, so every
 * run but a file's last is full. Outputs count because a chunk's outputs are one record,
 * written, read back and turned into result lines as one: a model of 16-byte inputs and
 * 3 KB outputs made 50 MB records, whose reading held up the API's other requests.
 */
import { DATATYPE_INFO } from '../contract/datatypes.js';
import type { ModelVersion } from './repository.js';

/** Input bytes a chunk aims for. */
export const CHUNK_BYTES = 1 << 20;
/** Bounds on rows per chunk (tiny rows would otherwise make chunks of millions). */
export const MAX_CHUNK_ROWS = 16_384;
/** What a BYTES element is assumed to weigh (its real size is known only per row). */
const BYTES_ELEMENT_GUESS = 64;

/** Bytes of one row of these tensors (every non-batch dimension; symbolic ones count 1). */
function tensorRowBytes(tensors: ModelVersion['inputs']): number {
  let total = 0;
  for (const t of tensors) {
    const size = DATATYPE_INFO[t.datatype].bytes || BYTES_ELEMENT_GUESS;
    const elements = t.shape.slice(1).reduce<number>((n, d) => n * (typeof d === 'number' && d > 0 ? d : 1), 1);
    total += size * elements;
  }
  return total;
}

/** Bytes of one row: of all its inputs or of all its outputs, whichever is more. */
export function rowBytes(version: Pick<ModelVersion, 'inputs' | 'outputs'>): number {
  return Math.max(1, tensorRowBytes(version.inputs), tensorRowBytes(version.outputs));
}

/** Rows per chunk of a batch file for `version`; 1 for a model that cannot batch (each line runs alone). */
export function chunkRows(version: Pick<ModelVersion, 'inputs' | 'outputs' | 'maxBatchSize'>): number {
  const perRun = version.maxBatchSize;
  if (perRun <= 0) return 1;
  const wanted = Math.min(MAX_CHUNK_ROWS, Math.floor(CHUNK_BYTES / rowBytes(version)));
  return Math.max(perRun, Math.floor(wanted / perRun) * perRun);
}
