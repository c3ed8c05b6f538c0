/**
 * PURE: per-job tensors → one feed per model input, rows concatenated in slice order; and
 * the way back, a run's outputs → each slice's rows. Works on bytes, so joining and
 * splitting costs a memcpy, never a per-number loop.
 */
import { elementCount, type RawTensor } from '@maas/shared';
import type { Slice } from './cut.js';

/** Rows [start, end) of a tensor whose first dimension is the batch. */
export function sliceRows(t: RawTensor, start: number, end: number): RawTensor {
  const rows = t.shape[0] ?? 1;
  if (start === 0 && end === rows) return t;
  const per = elementCount(t.shape.slice(1));
  const shape = [end - start, ...t.shape.slice(1)];
  if (Array.isArray(t.data)) return { ...t, shape, data: t.data.slice(start * per, end * per) };
  const bytesPerRow = t.data.byteLength / Math.max(rows, 1);
  return { ...t, shape, data: t.data.subarray(start * bytesPerRow, end * bytesPerRow) };
}

/** Concatenates tensors of one name along the first dimension. */
export function concatRows(parts: RawTensor[]): RawTensor {
  const first = parts[0];
  if (!first) throw new Error('concatRows: no parts');
  if (parts.length === 1) return first;
  const rows = parts.reduce((n, p) => n + (p.shape[0] ?? 0), 0);
  const shape = [rows, ...first.shape.slice(1)];
  if (Array.isArray(first.data)) {
    return { ...first, shape, data: parts.flatMap((p) => p.data as string[]) };
  }
  return { ...first, shape, data: Buffer.concat(parts.map((p) => p.data as Uint8Array)) };
}

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
