/**
 * PURE: per-job tensors → one feed per model input, rows concatenated in slice order; and
 * the way back, a run's outputs → each slice's rows. Works on bytes, so joining and
 * splitting costs a memcpy, never a per-number loop.
 */
import { concatRows, sliceRows, type RawTensor } from '@maas/shared';
import type { Slice } from './cut.js';

/**
 * The feeds of one run: for each input (in the model's order), the slices' rows joined.
 * `inputsOf(job)` gives the job's tensors in that same order.
 */
export function assembleFeeds<J>(slices: readonly Slice<J>[], inputsOf: (job: J) => RawTensor[]): RawTensor[] {
  const first = slices[0];
  if (!first) return [];
  const names = inputsOf(first.job).length;
  const feeds: RawTensor[] = [];
  for (let i = 0; i < names; i++) {
    feeds.push(concatRows(slices.map((s) => sliceRows(inputsOf(s.job)[i]!, s.start, s.end))));
  }
  return feeds;
}

/** Each slice's share of the run's outputs, in slice order. */
export function splitOutputs<J>(slices: readonly Slice<J>[], outputs: readonly RawTensor[]): RawTensor[][] {
  return slices.map((s) => outputs.map((o) => sliceRows(o, s.offset, s.offset + (s.end - s.start))));
}

/** A key equal for jobs whose inputs can be concatenated: every dimension but the first. */
export function shapeKey(inputs: readonly RawTensor[]): string {
  return inputs.map((t) => t.shape.slice(1).join('x')).join('|');
}
