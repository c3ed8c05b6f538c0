/**
 * Output tensors made from bytes. A job's outputs reach the API as bytes; its public form
 * (OutputTensor) holds JSON values. `outputTensor(raw)` is that public form with its `data`
 * made from the bytes (toJsonValues) the first time it is read, keeping the bytes (`rawOf`)
 * for answers that want bytes or write JSON on their own: binary frames and gRPC raw contents
 * take the bytes as they are, and JSON made in pieces reads the values from them. So a large
 * output is never turned into an array of JSON values that nothing needs, or back into bytes.
 *
 * A copy made with a spread (`{ ...t }`) reads `data` and is a plain OutputTensor; setting
 * `data` drops the bytes. Either way the tensor stays what it says.
 */
import type { OutputTensor } from '../contract/tensor.js';
import { toJsonValues, type RawTensor } from './raw.js';

const bytesOf = new WeakMap<OutputTensor, RawTensor>();
/** tensors whose JSON values were made (valuesMade) */
const made = new WeakSet<OutputTensor>();

/** `raw` in its public form, its JSON values made when first read. */
export function outputTensor(raw: RawTensor): OutputTensor {
  const t = { name: raw.name, datatype: raw.datatype, shape: raw.shape } as OutputTensor;
  let values: OutputTensor['data'] | undefined;
  Object.defineProperty(t, 'data', {
    enumerable: true,
    get(): OutputTensor['data'] {
      if (values === undefined) {
        values = toJsonValues(raw);
        made.add(t);
      }
      return values;
    },
    set(data: OutputTensor['data']) {
      bytesOf.delete(t);
      values = data;
    },
  });
  bytesOf.set(t, raw);
  return t;
}

/** The bytes `t` was made from (outputTensor), or undefined for a tensor of JSON values. */
export function rawOf(t: OutputTensor): RawTensor | undefined {
  return bytesOf.get(t);
}

/** Whether the JSON values of `t` (made by outputTensor) were made: tests check that answers taking bytes never make them. */
export function valuesMade(t: OutputTensor): boolean {
  return made.has(t);
}
