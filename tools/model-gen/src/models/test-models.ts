// Models for tests and benchmarks that are not shipped in models/: suites write them into a
// temporary repository. Deterministic like the shipped ones.
import { BATCH, DataType, buildModel, floatTensor, int64Tensor, node, valueInfo } from '../onnx-builder.js';

/** KServe datatype → ONNX element type, for every datatype the service carries. */
export const ECHO_TYPES = {
  BOOL: DataType.BOOL, UINT8: DataType.UINT8, UINT16: DataType.UINT16, UINT32: DataType.UINT32, UINT64: DataType.UINT64,
  INT8: DataType.INT8, INT16: DataType.INT16, INT32: DataType.INT32, INT64: DataType.INT64,
  FP16: DataType.FLOAT16, FP32: DataType.FLOAT, FP64: DataType.DOUBLE, BYTES: DataType.STRING,
} as const;

export const ECHO_WIDTH = 3;

/**
 * `echo`: for each datatype D (all of them, or those named), input `in_D` [batch, 3] → Identity →
 * output `out_D`.
 */
export function buildEchoModel(datatypes: readonly (keyof typeof ECHO_TYPES)[] = Object.keys(ECHO_TYPES) as (keyof typeof ECHO_TYPES)[]): Uint8Array {
  const types = datatypes.map((d) => [d, ECHO_TYPES[d]] as const);
  return buildModel({
    graph: {
      name: 'echo',
      docString: 'out_D = in_D for every datatype D the service carries.',
      inputs: types.map(([d, t]) => valueInfo(`in_${d}`, t, [BATCH, ECHO_WIDTH])),
      outputs: types.map(([d, t]) => valueInfo(`out_${d}`, t, [BATCH, ECHO_WIDTH])),
      initializers: [],
      nodes: types.map(([d]) => node('Identity', [`in_${d}`], [`out_${d}`])),
    },
  });
}

/** One 224×224×3 image, flattened. */
export const IMAGE_ELEMENTS = 224 * 224 * 3;

/** `image`: `pixels` FP32 [batch, 150528] → `mean` FP32 [batch, 1] (little compute: the bench measures the front doors). */
export function buildImageModel(): Uint8Array {
  return buildModel({
    graph: {
      name: 'image_mean',
      docString: 'mean = ReduceMean(pixels) over each row of 224*224*3 values.',
      inputs: [valueInfo('pixels', DataType.FLOAT, [BATCH, IMAGE_ELEMENTS])],
      outputs: [valueInfo('mean', DataType.FLOAT, [BATCH, 1])],
      initializers: [],
      nodes: [node('ReduceMean', ['pixels'], ['mean'], { axes: [1], keepdims: 1 })],
    },
  });
}

/**
 * `unknown_op`: a well-formed ONNX file (its metadata reads fine: `x` FP32 [batch, 2] → `y`)
 * whose one node is an operator onnxruntime does not know, so no session can be created from
 * it: a version that passes a metadata read and must still be refused.
 */
export function buildUnknownOpModel(): Uint8Array {
  return buildModel({
    graph: {
      name: 'unknown_op',
      docString: 'y = NoSuchOperator(x): onnxruntime refuses to create a session.',
      inputs: [valueInfo('x', DataType.FLOAT, [BATCH, 2])],
      outputs: [valueInfo('y', DataType.FLOAT, [BATCH, 2])],
      initializers: [],
      nodes: [node('NoSuchOperator', ['x'], ['y'])],
    },
  });
}

/** Inputs of one `wide_out` row. */
export const WIDE_OUT_INPUTS = 4;

/**
 * `wide_out`: `x` FP32 [batch, 4] → MatMul by a fixed [4, width] matrix → `y` FP32 [batch,
 * width]: outputs far larger than inputs (an embedding model's shape), for batch files
 * whose results dwarf their upload. Weight (i, j) is sin(i * width + j) / 3.
 */
export function buildWideOutputModel(width: number): Uint8Array {
  const weights = Float32Array.from({ length: WIDE_OUT_INPUTS * width }, (_, k) => Math.sin(k) / 3);
  return buildModel({
    graph: {
      name: 'wide_out',
      docString: `y = x W, W a fixed [${WIDE_OUT_INPUTS}, ${width}] matrix: ${width} outputs a row for ${WIDE_OUT_INPUTS} inputs.`,
      inputs: [valueInfo('x', DataType.FLOAT, [BATCH, WIDE_OUT_INPUTS])],
      outputs: [valueInfo('y', DataType.FLOAT, [BATCH, width])],
      initializers: [floatTensor('W', [WIDE_OUT_INPUTS, width], weights)],
      nodes: [node('MatMul', ['x', 'W'], ['y'])],
    },
  });
}

/** Token ids and a mask in a row of `tokens`. */
export const TOKENS_WIDTH = 8;

/**
 * `tokens`: the inputs of a text model, `ids` INT64 [batch, 8] and `mask` INT32 [batch, 8] →
 * `kept` INT64 [batch, 8] = ids × mask (the ids the mask keeps, 0 elsewhere), for batch files
 * of integer inputs.
 */
export function buildTokensModel(): Uint8Array {
  return buildModel({
    graph: {
      name: 'tokens',
      docString: 'kept = ids * Cast<int64>(mask): integer inputs as a text model has them.',
      inputs: [valueInfo('ids', DataType.INT64, [BATCH, TOKENS_WIDTH]), valueInfo('mask', DataType.INT32, [BATCH, TOKENS_WIDTH])],
      outputs: [valueInfo('kept', DataType.INT64, [BATCH, TOKENS_WIDTH])],
      initializers: [],
      nodes: [node('Cast', ['mask'], ['mask64'], { to: DataType.INT64 }), node('Mul', ['ids', 'mask64'], ['kept'])],
    },
  });
}

/**
 * `lookup`: `idx` INT64 [batch, 1] → `out` FP32 [batch, 1], the idx-th of 0, 10, …, 90
 * (Gather): an index past 9 fails the run, as a token id past a vocabulary does.
 */
export function buildLookupModel(): Uint8Array {
  return buildModel({
    graph: {
      name: 'lookup',
      docString: 'out = table[idx], table = 0, 10, ..., 90; an index out of range fails the run.',
      inputs: [valueInfo('idx', DataType.INT64, [BATCH, 1])],
      outputs: [valueInfo('out', DataType.FLOAT, [BATCH, 1])],
      initializers: [floatTensor('table', [10], [0, 10, 20, 30, 40, 50, 60, 70, 80, 90])],
      nodes: [node('Gather', ['table', 'idx'], ['out'], { axis: 0 })],
    },
  });
}

/** `flatten`: `x` FP32 [batch, 2] → `y` FP32 [n], every value in one row (Reshape -1): an output whose first dimension is not the rows. */
export function buildFlattenModel(): Uint8Array {
  return buildModel({
    graph: {
      name: 'flatten',
      docString: 'y = Reshape(x, [-1]): 2 values a row, all in one dimension named n.',
      inputs: [valueInfo('x', DataType.FLOAT, [BATCH, 2])],
      outputs: [valueInfo('y', DataType.FLOAT, ['n'])],
      initializers: [int64Tensor('flat', [1], [-1])],
      nodes: [node('Reshape', ['x', 'flat'], ['y'])],
    },
  });
}

/** `transpose`: `x` FP32 [batch, 2] → `y` FP32 [2, batch]: the rows are the second dimension (the model cannot batch). */
export function buildTransposeModel(): Uint8Array {
  return buildModel({
    graph: {
      name: 'transpose',
      docString: 'y = Transpose(x): [batch, 2] -> [2, batch].',
      inputs: [valueInfo('x', DataType.FLOAT, [BATCH, 2])],
      outputs: [valueInfo('y', DataType.FLOAT, [2, BATCH])],
      initializers: [],
      nodes: [node('Transpose', ['x'], ['y'], { perm: [1, 0] })],
    },
  });
}

/** Values in a row of `half` and `to_half`. */
export const HALF_WIDTH = 3;

/**
 * `half`: an FP16 model as converters make them. `x` FP16 [batch, 3] → `doubled` FP16 = x × 2
 * (computed in half precision, so it overflows past 32752 as FP16 does) and `wide` FP32 =
 * Cast<float>(x).
 */
export function buildHalfModel(): Uint8Array {
  return buildModel({
    graph: {
      name: 'half',
      docString: 'doubled = x * 2 in FP16; wide = Cast<float>(x).',
      inputs: [valueInfo('x', DataType.FLOAT16, [BATCH, HALF_WIDTH])],
      outputs: [valueInfo('doubled', DataType.FLOAT16, [BATCH, HALF_WIDTH]), valueInfo('wide', DataType.FLOAT, [BATCH, HALF_WIDTH])],
      // 2.0 as FP16 is 0x4000, little-endian
      initializers: [{ dims: [], dataType: DataType.FLOAT16, name: 'two', rawData: Uint8Array.of(0x00, 0x40) }],
      nodes: [node('Mul', ['x', 'two'], ['doubled']), node('Cast', ['x'], ['wide'], { to: DataType.FLOAT })],
    },
  });
}

/** `to_half`: `f` FP32 [batch, 3] → `h` FP16 = Cast<float16>(f): an FP16 output from FP32 inputs. */
export function buildToHalfModel(): Uint8Array {
  return buildModel({
    graph: {
      name: 'to_half',
      docString: 'h = Cast<float16>(f).',
      inputs: [valueInfo('f', DataType.FLOAT, [BATCH, HALF_WIDTH])],
      outputs: [valueInfo('h', DataType.FLOAT16, [BATCH, HALF_WIDTH])],
      initializers: [],
      nodes: [node('Cast', ['f'], ['h'], { to: DataType.FLOAT16 })],
    },
  });
}

/** `bf16`: `x` BF16 [batch, 3] → Identity → `y`: a datatype the service does not carry. */
export function buildBf16Model(): Uint8Array {
  return buildModel({
    graph: {
      name: 'bf16',
      docString: 'y = x, in bfloat16.',
      inputs: [valueInfo('x', DataType.BFLOAT16, [BATCH, HALF_WIDTH])],
      outputs: [valueInfo('y', DataType.BFLOAT16, [BATCH, HALF_WIDTH])],
      initializers: [],
      nodes: [node('Identity', ['x'], ['y'])],
    },
  });
}

/**
 * `total`: `x` FP32 [batch, 4] → `total` FP32 [] (the largest of all its values) and `rowmax` FP32
 * [batch] (each row's): an output that is not per row, so the model cannot batch, and a batch
 * file's lines could not be answered from its runs.
 */
export function buildTotalModel(): Uint8Array {
  return buildModel({
    graph: {
      name: 'total',
      docString: 'total = ReduceMax(x) over every value; rowmax = ReduceMax(x) over each row.',
      inputs: [valueInfo('x', DataType.FLOAT, [BATCH, 4])],
      outputs: [valueInfo('total', DataType.FLOAT, []), valueInfo('rowmax', DataType.FLOAT, [BATCH])],
      initializers: [],
      nodes: [node('ReduceMax', ['x'], ['total'], { keepdims: 0 }), node('ReduceMax', ['x'], ['rowmax'], { axes: [1], keepdims: 0 })],
    },
  });
}

/**
 * `batch_mean`: `x` FP32 [batch, 4] → `mean` FP32 [?, 4], the mean over the rows (ReduceMean over
 * axis 0, keepdims): its output's first dimension has no name, as exporters often leave it, so
 * nothing says it is the rows (it is 1): the model must not batch.
 */
export function buildBatchMeanModel(): Uint8Array {
  const unnamed = { name: 'mean', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{}, { dimValue: 4 }] } } } };
  return buildModel({
    graph: {
      name: 'batch_mean',
      docString: 'mean = ReduceMean(x) over the rows (axis 0), its first dimension unnamed.',
      inputs: [valueInfo('x', DataType.FLOAT, [BATCH, 4])],
      outputs: [unnamed],
      initializers: [],
      nodes: [node('ReduceMean', ['x'], ['mean'], { axes: [0], keepdims: 1 })],
    },
  });
}
