// Thin helpers over the onnx-proto message types.
//
// Determinism: protobufjs writes fields in field-number order and only the
// fields we set, we never set timestamps or versions taken from the
// environment, and tensor payloads are serialized explicitly little-endian
// (ONNX raw_data is defined as little-endian), so the same inputs always give
// the same bytes on any machine.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

type TensorProto = onnxProto.onnx.ITensorProto;
type NodeProto = onnxProto.onnx.INodeProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;
type GraphProto = onnxProto.onnx.IGraphProto;

/** ONNX element types used by the shipped models (values from onnx.proto). */
export const DataType = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  INT32: onnx.TensorProto.DataType.INT32,
  INT64: onnx.TensorProto.DataType.INT64,
  // the rest: test models covering every datatype the service carries (models/test-models.ts)
  BOOL: onnx.TensorProto.DataType.BOOL,
  UINT8: onnx.TensorProto.DataType.UINT8,
  UINT16: onnx.TensorProto.DataType.UINT16,
  UINT32: onnx.TensorProto.DataType.UINT32,
  UINT64: onnx.TensorProto.DataType.UINT64,
  INT8: onnx.TensorProto.DataType.INT8,
  INT16: onnx.TensorProto.DataType.INT16,
  FLOAT16: onnx.TensorProto.DataType.FLOAT16,
  BFLOAT16: onnx.TensorProto.DataType.BFLOAT16, // not carried: a model using it is left out
  DOUBLE: onnx.TensorProto.DataType.DOUBLE,
  STRING: onnx.TensorProto.DataType.STRING,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** IR 8 is the newest version the onnx-proto schema (onnx 1.10) knows, and ORT loads it. */
export const IR_VERSION = 8;
/** Opset 13: Softmax/ArgMax/Gemm/Cast semantics the graphs below rely on. */
export const DEFAULT_OPSET = 13;
export const PRODUCER_NAME = 'maas-model-gen';

/**
 * Name of the symbolic first dimension of batchable models. A symbolic first
 * dim is what marks a model as batchable (models/fixed has a numeric one).
 */
export const BATCH = 'batch';

/** A dimension: a number is fixed, a string is a symbolic (named) dimension such as "batch". */
export type Dim = number | string;

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function checkSize(name: string, dims: readonly number[], length: number): void {
  if (product(dims) !== length) {
    throw new Error(`initializer ${name}: dims [${dims.join(', ')}] need ${product(dims)} values, got ${length}`);
  }
}

/**
 * FP32 initializer. Values are rounded to float32 here (the training code
 * works in float64); stored as raw_data so the file stays compact.
 */
export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  checkSize(name, dims, values.length);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
  return { dims: [...dims], dataType: DataType.FLOAT, name, rawData: bytes };
}

/** INT64 initializer (e.g. shape arguments for Reshape), raw little-endian. */
export function int64Tensor(name: string, dims: readonly number[], values: ArrayLike<number | bigint>): TensorProto {
  checkSize(name, dims, values.length);
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i] as number | bigint), true);
  return { dims: [...dims], dataType: DataType.INT64, name, rawData: bytes };
}

/**
 * Attribute values: an integer number is an INT attribute (axis, keepdims,
 * to, transB...), an array of integers is INTS, a string is STRING. FLOAT
 * attributes go through floatAttr() because JS cannot tell 1 from 1.0.
 */
export type AttrValue = number | string | readonly number[];

function attribute(name: string, value: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  const ints = typeof value === 'number' ? [value] : value;
  for (const v of ints) {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer; use floatAttr()`);
  }
  return typeof value === 'number' ? { name, type: T.INT, i: value } : { name, type: T.INTS, ints: [...value] };
}

/** Explicit FLOAT attribute (e.g. Gemm alpha), since JS cannot tell 1 from 1.0. */
export function floatAttr(name: string, value: number): AttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value };
}

/**
 * A graph node. Attributes are emitted sorted by name so that object key order
 * at the call site cannot change the bytes.
 */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attrs: Readonly<Record<string, AttrValue>> = {},
  extraAttrs: readonly AttributeProto[] = [],
): NodeProto {
  const attributes = [...Object.entries(attrs).map(([k, v]) => attribute(k, v)), ...extraAttrs].sort((a, b) =>
    (a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : 0,
  );
  return {
    input: [...inputs],
    output: [...outputs],
    // Node names only need to be unique; deriving them from the first output keeps them stable.
    name: `${opType}_${outputs[0] ?? ''}`,
    opType,
    ...(attributes.length > 0 ? { attribute: attributes } : {}),
  };
}

/** A graph input/output description. String dims become dim_param (symbolic), numbers dim_value. */
export function valueInfo(name: string, elemType: DataType, dims: readonly Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export interface GraphSpec {
  name: string;
  /** Shown by tools such as Netron; keep it stable text, never a date. */
  docString?: string;
  inputs: readonly ValueInfoProto[];
  outputs: readonly ValueInfoProto[];
  initializers: readonly TensorProto[];
  /** Nodes in topological order (ONNX requires it). */
  nodes: readonly NodeProto[];
}

export interface BuildModelOptions {
  graph: GraphSpec;
  opset?: number;
}

/** Serialize a complete ModelProto. */
export function buildModel({ graph, opset = DEFAULT_OPSET }: BuildModelOptions): Uint8Array {
  const g: GraphProto = {
    node: [...graph.nodes],
    name: graph.name,
    initializer: [...graph.initializers],
    ...(graph.docString !== undefined ? { docString: graph.docString } : {}),
    input: [...graph.inputs],
    output: [...graph.outputs],
  };
  const model: onnxProto.onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: opset }],
    producerName: PRODUCER_NAME,
    graph: g,
  };
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`invalid ModelProto: ${err}`);
  return onnx.ModelProto.encode(model).finish();
}

/** Decode bytes back to a ModelProto (used by tests to inspect what was written). */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
