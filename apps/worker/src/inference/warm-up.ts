/**
 * Runs a session's warm-up runs (shared models/warmup.ts says which) on zeros, in the thread
 * that owns the session, before that session takes its first job. A run that fails is
 * reported, not thrown: a model may refuse zeros (a division, a lookup checked by value) and
 * still serve real inputs, so the worker logs it and serves on.
 */
import type * as ort from 'onnxruntime-node';
import { DATATYPE_INFO, elementCount, type WarmupRun } from '@maas/shared';
import { toOrt } from './ort-tensors.js';

export interface WarmupOutcome {
  /** the rows of each run made, in order */
  rows: number[];
  ms: number;
  /** the first run that failed, and why (the runs after it are not made) */
  failure?: string;
}

/** An input of zeros (false, empty strings), made as a run's feeds are (ort-tensors.ts). */
function zeros({ name, datatype, shape }: WarmupRun['inputs'][number]): ort.Tensor {
  const count = elementCount(shape);
  return toOrt(datatype === 'BYTES' ? { name, datatype, shape, strings: new Array<string>(count).fill('') } : { name, datatype, shape, bytes: new ArrayBuffer(count * DATATYPE_INFO[datatype].bytes) });
}

export async function warmUp(session: ort.InferenceSession, runs: readonly WarmupRun[]): Promise<WarmupOutcome> {
  const t0 = performance.now();
  const rows: number[] = [];
  for (const run of runs) {
    try {
      await session.run(Object.fromEntries(run.inputs.map((t) => [t.name, zeros(t)])));
      rows.push(run.rows);
    } catch (err) {
      return { rows, ms: performance.now() - t0, failure: `a run of ${run.rows} rows of zeros failed: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  return { rows, ms: performance.now() - t0 };
}
