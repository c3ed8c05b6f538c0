/**
 * PURE: the warm-up runs a model version gets when a worker loads it (Triton's
 * `model_warmup`), before the worker takes any of its jobs. A session's first runs are slow:
 * onnxruntime plans its memory and grows its arena for each new shape (the shipped MLP here:
 * 1.3 ms for the first 1-row run against 0.1 ms later, 10 ms and 5.3 ms for the first two
 * 1,024-row runs against 1.2 ms), and on a GPU the CUDA provider's first run of a shape also
 * picks its kernels. Without warm-up, the first requests a new worker takes (one started to
 * absorb a load) pay that.
 *
 * Each run feeds zeros (false, empty strings), a dimension the model leaves open (other than
 * the batch) taken as 1. config.json's `warmup_batch_sizes` lists the runs' rows (`[]`: none),
 * each at most `max_batch_size` and at most as many rows as make WARMUP_MAX_BYTES of zeros; by
 * default a run of one row and one of `max_batch_size` rows, the latter only while its inputs
 * come to WARMUP_DEFAULT_MAX_BYTES or less (an image model's full run would take gigabytes). A
 * model that cannot batch gets one run of its own shape.
 */
import { DATATYPE_INFO } from '../contract/datatypes.js';
import type { Datatype } from '../contract/datatypes.js';
import { elementCount } from '../tensors/raw.js';
import type { ModelVersion } from './repository.js';

/** The largest default full-size warm-up run, in input bytes. */
export const WARMUP_DEFAULT_MAX_BYTES = 16 << 20;
/** The largest warm-up run config.json may ask for, in input bytes (each session makes it at once). */
export const WARMUP_MAX_BYTES = 256 << 20;

export interface WarmupInput {
  name: string;
  datatype: Datatype;
  /** the whole shape fed, batch dimension included; no open dimension */
  shape: number[];
}

export interface WarmupRun {
  /** rows of the run (1 for a model that cannot batch) */
  rows: number;
  inputs: WarmupInput[];
}

/** The shape a warm-up feeds for `shape` at `rows` rows (open dimensions → 1). */
function fedShape(shape: readonly number[], rows: number | undefined): number[] {
  return shape.map((d, i) => (i === 0 && rows !== undefined ? rows : d < 0 ? 1 : d));
}

/** The input bytes of a run (BYTES counted as nothing: empty strings; its DATATYPE_INFO size is 0). */
export function warmupBytes(run: WarmupRun): number {
  return run.inputs.reduce((n, t) => n + elementCount(t.shape) * DATATYPE_INFO[t.datatype].bytes, 0);
}

/**
 * The warm-up runs of `version`: `sizes` (config.json's `warmup_batch_sizes`, each at most
 * `maxBatchSize`, in order, without repeats), or the default above when undefined.
 */
export function warmupRuns(version: Pick<ModelVersion, 'inputs' | 'maxBatchSize'>, sizes: readonly number[] | undefined): WarmupRun[] {
  const runOf = (rows: number | undefined): WarmupRun => ({
    rows: rows ?? 1,
    inputs: version.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: fedShape(t.shape, rows) })),
  });
  if (version.maxBatchSize === 0) return sizes?.length === 0 ? [] : [runOf(undefined)];
  if (sizes) {
    const rowBytes = warmupBytes(runOf(1));
    const most = Math.max(1, Math.min(version.maxBatchSize, rowBytes > 0 ? Math.floor(WARMUP_MAX_BYTES / rowBytes) : Infinity));
    return [...new Set(sizes.map((n) => Math.min(n, most)))].map(runOf);
  }
  const runs = [runOf(1)];
  const full = runOf(version.maxBatchSize);
  if (version.maxBatchSize > 1 && warmupBytes(full) <= WARMUP_DEFAULT_MAX_BYTES) runs.push(full);
  return runs;
}
