// Deterministic training for the penguin classifiers.
//
// Everything here is a pure function of its arguments: float64 arithmetic in
// a fixed loop order, full-batch updates (no shuffling), a fixed number of
// iterations and a seeded initialisation. Running it twice, or on another
// machine, gives the same weights and therefore the same model bytes.
//
// Both models are the same thing with a different number of hidden layers:
// multinomial logistic regression is a network with none, the MLP has one
// ReLU layer. They share one forward/backward pass and one Adam optimiser.
import { createRng, normals } from './prng.js';

/** A fully connected layer. `w` is row-major [inputs, outputs], i.e. Gemm's B without transB. */
export interface Dense {
  inputs: number;
  outputs: number;
  w: Float64Array;
  b: Float64Array;
}

/** Per-feature standardisation z = (x - mean) / std, baked into the ONNX graph. */
export interface Standardization {
  mean: Float64Array;
  std: Float64Array;
}

/** Dense layers with ReLU between them and softmax after the last one. */
export interface Classifier {
  standardization: Standardization;
  layers: Dense[];
}

export interface TrainOptions {
  /** Number of classes (output width). */
  classes: number;
  /** Widths of hidden ReLU layers; [] gives logistic regression. */
  hidden: readonly number[];
  iterations: number;
  learningRate: number;
  /** L2 penalty on weights (not biases); keeps separable classes from pushing weights up forever. */
  l2: number;
  /** Seed for the weight initialisation (unused when there are no hidden layers). */
  seed: number;
}

/** Mean and population standard deviation of each column. */
export function computeStandardization(x: readonly (readonly number[])[]): Standardization {
  const n = x.length;
  const d = x[0]?.length ?? 0;
  if (n === 0 || d === 0) throw new Error('cannot standardise an empty dataset');
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const row of x) for (let j = 0; j < d; j++) mean[j]! += row[j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  for (const row of x) for (let j = 0; j < d; j++) std[j]! += (row[j]! - mean[j]!) ** 2;
  for (let j = 0; j < d; j++) {
    std[j] = Math.sqrt(std[j]! / n);
    // A constant column would divide by zero in the graph; leave it unscaled.
    if (std[j] === 0) std[j] = 1;
  }
  return { mean, std };
}

function standardize(x: readonly (readonly number[])[], s: Standardization): Float64Array[] {
  return x.map((row) => Float64Array.from(row, (v, j) => (v - s.mean[j]!) / s.std[j]!));
}

/** Output of every layer for a batch: pre-activations and activations (post-ReLU; logits for the last). */
interface Trace {
  activations: Float64Array[][];
}

function forwardTrace(layers: readonly Dense[], input: Float64Array[]): Trace {
  const activations: Float64Array[][] = [input];
  let current = input;
  layers.forEach((layer, l) => {
    const last = l === layers.length - 1;
    current = current.map((a) => {
      const z = Float64Array.from(layer.b);
      for (let i = 0; i < layer.inputs; i++) {
        const ai = a[i]!;
        if (ai === 0) continue;
        const row = i * layer.outputs;
        for (let j = 0; j < layer.outputs; j++) z[j]! += ai * layer.w[row + j]!;
      }
      if (!last) for (let j = 0; j < z.length; j++) if (z[j]! < 0) z[j] = 0;
      return z;
    });
    activations.push(current);
  });
  return { activations };
}

/** Numerically stable softmax of one row. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Logits for raw (unstandardised) rows, exactly what the ONNX graph computes, in float64. */
export function logits(model: Classifier, x: readonly (readonly number[])[]): Float64Array[] {
  const acts = forwardTrace(model.layers, standardize(x, model.standardization)).activations;
  return acts[acts.length - 1]!;
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Predicted class index per row. */
export function predict(model: Classifier, x: readonly (readonly number[])[]): number[] {
  return logits(model, x).map(argmax);
}

/** Fraction of predictions equal to the labels. */
export function accuracy(predicted: ArrayLike<number | bigint>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length) throw new Error('accuracy: length mismatch');
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (Number(predicted[i]) === labels[i]) correct++;
  return correct / labels.length;
}

function initLayers(dims: readonly number[], seed: number): Dense[] {
  const rng = createRng(seed);
  const layers: Dense[] = [];
  for (let l = 0; l + 1 < dims.length; l++) {
    const inputs = dims[l]!;
    const outputs = dims[l + 1]!;
    const hiddenLayer = l + 2 < dims.length;
    let w: Float64Array;
    if (dims.length === 2) {
      // Logistic regression is convex: start from zero, no randomness needed.
      w = new Float64Array(inputs * outputs);
    } else {
      // He init before a ReLU, Xavier (Glorot normal) for the softmax layer.
      w = normals(rng, inputs * outputs, hiddenLayer ? Math.sqrt(2 / inputs) : Math.sqrt(2 / (inputs + outputs)));
    }
    layers.push({ inputs, outputs, w, b: new Float64Array(outputs) });
  }
  return layers;
}

/** Mean softmax cross-entropy plus L2, and its gradient with respect to every parameter. */
function lossAndGradients(
  layers: readonly Dense[],
  x: Float64Array[],
  y: readonly number[],
  l2: number,
): { loss: number; grads: Dense[] } {
  const n = x.length;
  const { activations } = forwardTrace(layers, x);
  const grads = layers.map((l) => ({ ...l, w: new Float64Array(l.w.length), b: new Float64Array(l.b.length) }));
  let loss = 0;
  // dL/dlogits = (softmax - onehot) / n
  let delta = activations[activations.length - 1]!.map((z, r) => {
    const p = softmax(z);
    const label = y[r]!;
    loss -= Math.log(Math.max(p[label]!, 1e-300));
    p[label]! -= 1;
    for (let j = 0; j < p.length; j++) p[j]! /= n;
    return p;
  });
  loss /= n;
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l]!;
    const g = grads[l]!;
    const input = activations[l]!;
    for (let r = 0; r < n; r++) {
      const a = input[r]!;
      const d = delta[r]!;
      for (let j = 0; j < layer.outputs; j++) g.b[j]! += d[j]!;
      for (let i = 0; i < layer.inputs; i++) {
        const ai = a[i]!;
        if (ai === 0) continue;
        const row = i * layer.outputs;
        for (let j = 0; j < layer.outputs; j++) g.w[row + j]! += ai * d[j]!;
      }
    }
    for (let k = 0; k < layer.w.length; k++) {
      loss += 0.5 * l2 * layer.w[k]! ** 2;
      g.w[k]! += l2 * layer.w[k]!;
    }
    if (l > 0) {
      // Back through the weights, then through the ReLU (its input was > 0 iff its output is).
      delta = delta.map((d, r) => {
        const prev = new Float64Array(layer.inputs);
        const a = input[r]!;
        for (let i = 0; i < layer.inputs; i++) {
          if (a[i]! <= 0) continue;
          const row = i * layer.outputs;
          let s = 0;
          for (let j = 0; j < layer.outputs; j++) s += layer.w[row + j]! * d[j]!;
          prev[i] = s;
        }
        return prev;
      });
    }
  }
  return { loss, grads };
}

export interface TrainResult {
  model: Classifier;
  /** Training loss after the last update. */
  loss: number;
}

/**
 * Full-batch Adam (beta1 0.9, beta2 0.999, eps 1e-8) for a fixed number of
 * iterations. Adam rather than plain gradient descent because it converges in
 * a few hundred steps without tuning a learning rate per layer.
 */
export function train(x: readonly (readonly number[])[], y: readonly number[], opts: TrainOptions): TrainResult {
  if (x.length !== y.length) throw new Error('train: x and y lengths differ');
  const standardization = computeStandardization(x);
  const z = standardize(x, standardization);
  const dims = [z[0]!.length, ...opts.hidden, opts.classes];
  const layers = initLayers(dims, opts.seed);
  const params = layers.flatMap((l) => [l.w, l.b]);
  const m = params.map((p) => new Float64Array(p.length));
  const v = params.map((p) => new Float64Array(p.length));
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  for (let t = 1; t <= opts.iterations; t++) {
    const { grads } = lossAndGradients(layers, z, y, opts.l2);
    const gs = grads.flatMap((g) => [g.w, g.b]);
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    params.forEach((p, k) => {
      const g = gs[k]!;
      const mk = m[k]!;
      const vk = v[k]!;
      for (let i = 0; i < p.length; i++) {
        mk[i] = beta1 * mk[i]! + (1 - beta1) * g[i]!;
        vk[i] = beta2 * vk[i]! + (1 - beta2) * g[i]! ** 2;
        p[i]! -= (opts.learningRate * (mk[i]! / c1)) / (Math.sqrt(vk[i]! / c2) + eps);
      }
    });
  }
  const { loss } = lossAndGradients(layers, z, y, opts.l2);
  return { model: { standardization, layers }, loss };
}

export type Hyperparameters = Omit<TrainOptions, 'hidden' | 'classes'>;

/** Multinomial logistic regression: standardise, one linear layer, softmax. */
export function trainLogisticRegression(
  x: readonly (readonly number[])[],
  y: readonly number[],
  classes: number,
  hp: Hyperparameters,
): TrainResult {
  return train(x, y, { ...hp, classes, hidden: [] });
}

/** One-hidden-layer MLP: standardise, dense to `hidden` + ReLU, dense to classes, softmax. */
export function trainMlp(
  x: readonly (readonly number[])[],
  y: readonly number[],
  classes: number,
  hidden: number,
  hp: Hyperparameters,
): TrainResult {
  return train(x, y, { ...hp, classes, hidden: [hidden] });
}
