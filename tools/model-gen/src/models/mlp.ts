// models/mlp: the benchmark model. Its weights are random (seeded), not
// trained: it exists to put realistic compute behind the batching path
// (about 75k parameters, three Gemms), not to predict anything.
import { BATCH, DataType, buildModel, floatTensor, node, valueInfo } from '../onnx-builder.js';
import { createRng, normals, type Rng } from '../prng.js';

export const MLP_INPUT = 32;
const HIDDEN = 256;
export const MLP_OUTPUT = 2;
const SEED = 0x6d6c70; // "mlp"

export const MLP_CONFIG = { max_batch_size: 1024, max_queue_delay_ms: 2 };

function dense(rng: Rng, prefix: string, inputs: number, outputs: number, relu: boolean) {
  // He init keeps activations at unit scale through the ReLUs; Glorot for the
  // softmax layer gives logits of order 1, so outputs vary instead of all being
  // 0.5 (zero weights) or 0/1 (huge weights). Small random biases keep
  // different units from being exact mirror images at the origin.
  const std = relu ? Math.sqrt(2 / inputs) : Math.sqrt(2 / (inputs + outputs));
  return [
    floatTensor(`${prefix}.weight`, [inputs, outputs], normals(rng, inputs * outputs, std)),
    floatTensor(`${prefix}.bias`, [outputs], normals(rng, outputs, 0.01)),
  ];
}

/**
 * input [batch, 32] -> Gemm 256 -> Relu -> Gemm 256 -> Relu -> Gemm 2 -> Softmax -> output [batch, 2].
 * `hidden` changes the width (the benchmarks build a wide variant, where one row per run
 * is memory-bound and batching pays off most); the shipped model uses the defaults.
 */
export function buildMlpModel(hidden = HIDDEN, seed = SEED): Uint8Array {
  const rng = createRng(seed);
  return buildModel({
    graph: {
      name: 'benchmark_mlp',
      docString: `Benchmark MLP 32-${hidden}-${hidden}-2 with seeded random weights; softmax output.`,
      inputs: [valueInfo('input', DataType.FLOAT, [BATCH, MLP_INPUT])],
      outputs: [valueInfo('output', DataType.FLOAT, [BATCH, MLP_OUTPUT])],
      initializers: [
        ...dense(rng, 'fc1', MLP_INPUT, hidden, true),
        ...dense(rng, 'fc2', hidden, hidden, true),
        ...dense(rng, 'fc3', hidden, MLP_OUTPUT, false),
      ],
      nodes: [
        node('Gemm', ['input', 'fc1.weight', 'fc1.bias'], ['fc1.out']),
        node('Relu', ['fc1.out'], ['fc1.relu']),
        node('Gemm', ['fc1.relu', 'fc2.weight', 'fc2.bias'], ['fc2.out']),
        node('Relu', ['fc2.out'], ['fc2.relu']),
        node('Gemm', ['fc2.relu', 'fc3.weight', 'fc3.bias'], ['logits']),
        node('Softmax', ['logits'], ['output'], { axis: 1 }),
      ],
    },
  });
}
