// models/penguins: species classifier over the Palmer Penguins measurements.
//   version 1 = multinomial logistic regression
//   version 2 = MLP 4 -> 16 (ReLU) -> 3
// Both take raw measurements; the standardisation learned from the data is
// part of the graph so that callers never need to know the mean/std.
import {
  BATCH,
  DataType,
  buildModel,
  floatTensor,
  node,
  valueInfo,
  type GraphSpec,
} from '../onnx-builder.js';
import { loadPenguins, FEATURE_NAMES, SPECIES, type Dataset } from '../penguins-data.js';
import {
  accuracy,
  predict,
  trainLogisticRegression,
  trainMlp,
  type Classifier,
  type Hyperparameters,
} from '../train.js';

// Fixed hyperparameters (changing any of them changes the committed bytes).
const LOGISTIC: Hyperparameters = { iterations: 1000, learningRate: 0.05, l2: 1e-4, seed: 1 };
const MLP: Hyperparameters = { iterations: 1000, learningRate: 0.01, l2: 1e-4, seed: 2 };
const HIDDEN = 16;

/**
 * features [batch, 4] -> Sub(mean) -> Div(std) -> Gemm (-> Relu -> Gemm)* -> logits
 * logits -> Softmax(axis=1) -> probabilities [batch, 3]
 * logits -> ArgMax(axis=1, keepdims=0) -> label [batch] (int64)
 * ArgMax reads the logits rather than the probabilities: same order, but no
 * ties from float32 rounding of probabilities that saturate at 1.
 */
export function classifierGraph(name: string, model: Classifier, docString: string): GraphSpec {
  const { mean, std } = model.standardization;
  const features = mean.length;
  const classes = model.layers[model.layers.length - 1]!.outputs;
  const initializers = [floatTensor('mean', [features], mean), floatTensor('std', [features], std)];
  const nodes = [node('Sub', ['features', 'mean'], ['centered']), node('Div', ['centered', 'std'], ['standardized'])];
  let current = 'standardized';
  model.layers.forEach((layer, l) => {
    const last = l === model.layers.length - 1;
    const w = `layer${l}.weight`;
    const b = `layer${l}.bias`;
    initializers.push(floatTensor(w, [layer.inputs, layer.outputs], layer.w), floatTensor(b, [layer.outputs], layer.b));
    const out = last ? 'logits' : `layer${l}.linear`;
    nodes.push(node('Gemm', [current, w, b], [out]));
    current = out;
    if (!last) {
      nodes.push(node('Relu', [current], [`layer${l}.relu`]));
      current = `layer${l}.relu`;
    }
  });
  nodes.push(
    node('Softmax', ['logits'], ['probabilities'], { axis: 1 }),
    node('ArgMax', ['logits'], ['label'], { axis: 1, keepdims: 0 }),
  );
  return {
    name,
    docString,
    inputs: [valueInfo('features', DataType.FLOAT, [BATCH, features])],
    outputs: [
      valueInfo('probabilities', DataType.FLOAT, [BATCH, classes]),
      valueInfo('label', DataType.INT64, [BATCH]),
    ],
    initializers,
    nodes,
  };
}

const FEATURE_DOC = `features: [${FEATURE_NAMES.join(', ')}] in raw units; label: index into [${SPECIES.join(', ')}]`;

export interface PenguinModels {
  /** Version 1 (logistic regression) bytes. */
  v1: Uint8Array;
  /** Version 2 (MLP) bytes. */
  v2: Uint8Array;
  /** Training-set accuracy of each model in float64 (before float32 rounding). */
  accuracy: { v1: number; v2: number };
}

export function buildPenguinModels(data: Dataset = loadPenguins()): PenguinModels {
  const classes = SPECIES.length;
  const logistic = trainLogisticRegression(data.x, data.y, classes, LOGISTIC).model;
  const mlp = trainMlp(data.x, data.y, classes, HIDDEN, MLP).model;
  return {
    v1: buildModel({ graph: classifierGraph('penguins_logistic', logistic, `Logistic regression. ${FEATURE_DOC}`) }),
    v2: buildModel({ graph: classifierGraph('penguins_mlp', mlp, `MLP 4-16-3. ${FEATURE_DOC}`) }),
    accuracy: { v1: accuracy(predict(logistic, data.x), data.y), v2: accuracy(predict(mlp, data.x), data.y) },
  };
}

export const PENGUIN_LABELS = SPECIES.map((s) => `${s}\n`).join('');

export const PENGUIN_CONFIG = { max_batch_size: 256, max_queue_delay_ms: 2, version_policy: { latest: 2 } };
