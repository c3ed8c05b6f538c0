/**
 * KServe v2 datatypes and everything the code needs to know about each: element size,
 * typed-array class, onnxruntime type name, ONNX TensorProto elem_type, value range.
 * FP16 is carried as its bits (a Uint16Array, as onnxruntime-node takes and gives float16):
 * kind 'half' marks the places that turn them into numbers and back (tensors/half.ts).
 */

export const DATATYPES = [
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];

export type OrtType =
  | 'bool' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'int8' | 'int16' | 'int32' | 'int64'
  | 'float16' | 'float32' | 'float64' | 'string';

type NumericArray =
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array | Int8Array | Int16Array | Int32Array
  | BigInt64Array | Float32Array | Float64Array;

export interface DatatypeInfo {
  /** bytes per element; 0 for BYTES (variable length, carried as strings) */
  bytes: number;
  ort: OrtType;
  /** ONNX TensorProto.DataType */
  onnx: number;
  /** for integer types: inclusive bounds a JSON value must respect */
  range?: readonly [number | bigint, number | bigint];
  kind: 'bool' | 'int' | 'bigint' | 'half' | 'float' | 'string';
  array?: { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NumericArray; new (length: number): NumericArray };
}

export const DATATYPE_INFO: Record<Datatype, DatatypeInfo> = {
  BOOL: { bytes: 1, ort: 'bool', onnx: 9, kind: 'bool', array: Uint8Array },
  UINT8: { bytes: 1, ort: 'uint8', onnx: 2, kind: 'int', range: [0, 255], array: Uint8Array },
  UINT16: { bytes: 2, ort: 'uint16', onnx: 4, kind: 'int', range: [0, 65535], array: Uint16Array },
  UINT32: { bytes: 4, ort: 'uint32', onnx: 12, kind: 'int', range: [0, 4294967295], array: Uint32Array },
  UINT64: { bytes: 8, ort: 'uint64', onnx: 13, kind: 'bigint', range: [0n, 18446744073709551615n], array: BigUint64Array },
  INT8: { bytes: 1, ort: 'int8', onnx: 3, kind: 'int', range: [-128, 127], array: Int8Array },
  INT16: { bytes: 2, ort: 'int16', onnx: 5, kind: 'int', range: [-32768, 32767], array: Int16Array },
  INT32: { bytes: 4, ort: 'int32', onnx: 6, kind: 'int', range: [-2147483648, 2147483647], array: Int32Array },
  INT64: { bytes: 8, ort: 'int64', onnx: 7, kind: 'bigint', range: [-9223372036854775808n, 9223372036854775807n], array: BigInt64Array },
  FP16: { bytes: 2, ort: 'float16', onnx: 10, kind: 'half', array: Uint16Array },
  FP32: { bytes: 4, ort: 'float32', onnx: 1, kind: 'float', array: Float32Array },
  FP64: { bytes: 8, ort: 'float64', onnx: 11, kind: 'float', array: Float64Array },
  BYTES: { bytes: 0, ort: 'string', onnx: 8, kind: 'string' },
};

const BY_ONNX = new Map<number, Datatype>(DATATYPES.map((d) => [DATATYPE_INFO[d].onnx, d]));
const BY_ORT = new Map<string, Datatype>(DATATYPES.map((d) => [DATATYPE_INFO[d].ort, d]));

/** ONNX elem_type → KServe datatype, or undefined for types the service does not carry (BF16, FP8, complex...). */
export const datatypeFromOnnx = (elemType: number): Datatype | undefined => BY_ONNX.get(elemType);
export const datatypeFromOrt = (type: string): Datatype | undefined => BY_ORT.get(type);
export const isDatatype = (s: unknown): s is Datatype => typeof s === 'string' && (DATATYPES as readonly string[]).includes(s);
