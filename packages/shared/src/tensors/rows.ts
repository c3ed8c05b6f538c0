/**
 * PURE: rows of tensors whose first dimension is the batch: a range of rows out of one, and
 * tensors of one name joined along the first dimension. On bytes, so each costs a memcpy (or
 * nothing: a slice is a view), never a per-number loop. The worker joins the rows of many jobs
 * into one feed and splits a run's outputs back; the API packs v2 requests into one job and
 * splits their answers (`sliceOutputRows`, on JSON values or the bytes they are made from).
 */
import type { OutputTensor } from '../contract/tensor.js';
import { outputTensor, rawOf } from './output-tensor.js';
import { elementCount, type RawTensor } from './raw.js';

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

/** Rows [start, end) of an output tensor in JSON form (flat, row-major `data`). */
export function sliceOutputRows(t: OutputTensor, start: number, end: number): OutputTensor {
  const rows = t.shape[0] ?? 1;
  if (start === 0 && end === rows) return t;
  // Made from bytes: its rows of the bytes (a view), still made into JSON values only if read.
  const raw = rawOf(t);
  if (raw) return outputTensor(sliceRows(raw, start, end));
  const per = elementCount(t.shape.slice(1));
  return { ...t, shape: [end - start, ...t.shape.slice(1)], data: t.data.slice(start * per, end * per) };
}
