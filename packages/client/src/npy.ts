/**
 * NumPy `.npy` files (format 1.0): the batch upload for rows that are already numbers, which
 * the service cuts into chunks without parsing text. `encodeNpy` writes one from a typed
 * array; `npyFile(path)` uploads one from disk (e.g. `np.save("rows.npy", x.astype("float32"))`).
 */
export type NpyArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

const DESCR: [new (...args: never[]) => NpyArray, string][] = [
  [Float32Array, '<f4'], [Float64Array, '<f8'], [Int8Array, '|i1'], [Uint8Array, '|u1'], [Int16Array, '<i2'], [Uint16Array, '<u2'],
  [Int32Array, '<i4'], [Uint32Array, '<u4'], [BigInt64Array, '<i8'], [BigUint64Array, '<u8'],
];

/**
 * The `.npy` bytes of `data` shaped `shape` (C order; little-endian, as JS typed arrays are here).
 * The dtype follows the array's type; `descr` names another of the same width: `'<f2'` for
 * FP16 values held as their bits in a Uint16Array (Node has no Float16Array before 24).
 */
export function encodeNpy(data: NpyArray, shape: readonly number[], descr = DESCR.find(([Type]) => data instanceof Type)?.[1]): Uint8Array {
  if (!descr) throw new TypeError('encodeNpy: unsupported array type');
  if (Number(descr.slice(2)) !== data.BYTES_PER_ELEMENT) throw new TypeError(`encodeNpy: ${descr} is not ${data.BYTES_PER_ELEMENT} bytes a value`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`encodeNpy: shape (${shape.join(', ')}) holds ${count} values, the array ${data.length}`);
  const header = npyHeader(descr, shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return out;
}

/**
 * The header of an `.npy` file (format 1.0) for an array of dtype `descr` (e.g. '<f4') and
 * `shape`: write it, then the values in C order, to stream an array too large to hold.
 */
export function npyHeader(descr: string, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  // The data starts 64-byte aligned: magic (6) + version (2) + length (2) + dict + '\n'.
  dict += ' '.repeat(63 - ((10 + dict.length) % 64)) + '\n';
  const out = new Uint8Array(10 + dict.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, dict.length & 0xff, dict.length >> 8]);
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

/** An `.npy` file to upload as it is, byte for byte (see `npyFile`). */
export class NpyFile {
  constructor(readonly path: string) {}
}

/** Upload the `.npy` array at `path` as a batch: row i becomes result line i (custom_id "i"). */
export function npyFile(path: string): NpyFile {
  return new NpyFile(path);
}
