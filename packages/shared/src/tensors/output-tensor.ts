/**
 * Output tensors made from bytes. A job's outputs reach the API as bytes; its public form
 * (OutputTensor) holds JSON values. `outputTensor(raw)` is that public form with its `data`
 * made from the bytes (toJsonValues) the first time it is read, keeping the bytes (`rawOf`)
 * for answers that want bytes or write JSON on their own: binary frames and gRPC raw contents
 * take the bytes as they are, and JSON made in pieces reads the values from them. So a large
 * output is never turned into an array of JSON values that nothing needs, or back into bytes.
 *
 * A copy made with a spread (`{ ...t }`) reads `data` and is a plain OutputTensor; setting
 * `data` on a large one drops the bytes. Small tensors (under LAZY_MIN_VALUES values) get their
 * values at once, and keep their bytes too: nothing changes a job's outputs after they are made.
 */
import type { OutputTensor } from '../contract/tensor.js';
import { elementCount, toJsonValues, type RawTensor } from './raw.js';

const bytesOf = new WeakMap<OutputTensor, RawTensor>();
/** large tensors whose JSON values are not made yet (valuesMade); small ones never are */
const unmade = new WeakSet<OutputTensor>();

/**
 * Tensors of fewer values are made with their JSON values at once, as plain objects: an
 * accessor would take every document holding one off JSON.stringify's fast path, which costs
 * a small answer more than its values do (single-row jobs: +20-37 µs of API CPU a job).
 */
const LAZY_MIN_VALUES = 4096;

/** `raw` in its public form; a large one's JSON values made when first read. */
export function outputTensor(raw: RawTensor): OutputTensor {
  if (elementCount(raw.shape) < LAZY_MIN_VALUES) {
    const plain: OutputTensor = { name: raw.name, datatype: raw.datatype, shape: raw.shape, data: toJsonValues(raw) };
    bytesOf.set(plain, raw);
    return plain;
  }
  const t = { name: raw.name, datatype: raw.datatype, shape: raw.shape } as OutputTensor;
  let values: OutputTensor['data'] | undefined;
  Object.defineProperty(t, 'data', {
    enumerable: true,
    get(): OutputTensor['data'] {
      if (values === undefined) {
        values = toJsonValues(raw);
        unmade.delete(t);
      }
      return values;
    },
    set(data: OutputTensor['data']) {
      bytesOf.delete(t);
      unmade.delete(t);
      values = data;
    },
  });
  bytesOf.set(t, raw);
  unmade.add(t);
  return t;
}

/** The bytes `t` was made from (outputTensor), or undefined for a tensor of JSON values. */
export function rawOf(t: OutputTensor): RawTensor | undefined {
  return bytesOf.get(t);
}

/** Whether the JSON values of `t` (made by outputTensor) were made: tests check that answers taking bytes never make them. */
export function valuesMade(t: OutputTensor): boolean {
  return !unmade.has(t);
}
