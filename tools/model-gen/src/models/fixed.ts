// models/fixed: a model with NO symbolic batch dimension. The server must
// notice that it cannot be batched (first dim is a number, not a name) and
// must reject inputs of any other shape; this model exercises both paths.
// It also has two inputs of different dtypes, which a single-input model
// would never test.
import { DataType, buildModel, node, valueInfo } from '../onnx-builder.js';

export const FIXED_SHAPE = [2, 3] as const;

export const FIXED_CONFIG = {};

/** sum = x + Cast<float>(y); x FP32 [2, 3], y INT32 [2, 3]. */
export function buildFixedModel(): Uint8Array {
  return buildModel({
    graph: {
      name: 'fixed_add',
      docString: 'sum = x + float(y), fixed shape [2, 3], not batchable.',
      inputs: [valueInfo('x', DataType.FLOAT, FIXED_SHAPE), valueInfo('y', DataType.INT32, FIXED_SHAPE)],
      outputs: [valueInfo('sum', DataType.FLOAT, FIXED_SHAPE)],
      initializers: [],
      nodes: [node('Cast', ['y'], ['y_float'], { to: DataType.FLOAT }), node('Add', ['x', 'y_float'], ['sum'])],
    },
  });
}
