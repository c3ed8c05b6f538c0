/**
 * PURE: a request's tensors checked against a model version's signature. Every problem is
 * collected (not just the first) so a client fixes its request in one round trip; nothing
 * reaches the queue unless this returns no issue.
 */
import { BinaryData, MAX_CLASSIFICATION, type InputTensor, type RequestedOutput, type TensorSpec } from '../contract/tensor.js';
import { checkBytes } from './bytes.js';
import type { InputIssue } from '../errors.js';
import { encodeValues } from './encode.js';
import { flattenData } from './flatten.js';
import type { RawTensor } from './raw.js';

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** false: shapes must match the model's exactly (no batching) */
  batchable: boolean;
}

export interface CheckedRequest {
  inputs: RawTensor[];
  rows: number;
  outputs: RequestedOutput[];
}

export type CheckResult = { ok: true; value: CheckedRequest } | { ok: false; issues: InputIssue[] };

const fmt = (shape: readonly number[]) => `[${shape.map((d) => (d === -1 ? '-1' : d)).join(', ')}]`;

function checkShape(spec: TensorSpec, shape: number[], batchable: boolean): string | undefined {
  if (shape.length !== spec.shape.length) {
    return `shape ${fmt(shape)} has ${shape.length} dimensions; ${spec.name} needs ${spec.shape.length}: ${fmt(spec.shape)}`;
  }
  if (batchable && shape[0] === 0) return 'the batch dimension (first) must be at least 1';
  for (let d = 0; d < shape.length; d++) {
    const want = spec.shape[d]!;
    if (want !== -1 && shape[d] !== want) return `shape ${fmt(shape)} does not match ${fmt(spec.shape)} at dimension ${d}`;
  }
  return undefined;
}

function checkOutputs(requested: RequestedOutput[], sig: Signature, issues: InputIssue[]) {
  const names = new Set<string>();
  requested.forEach((o, i) => {
    const spec = sig.outputs.find((s) => s.name === o.name);
    const path = `outputs[${i}]`;
    if (!spec) {
      issues.push({ path: `${path}.name`, message: `unknown output '${o.name}'; the model has: ${sig.outputs.map((s) => s.name).join(', ')}` });
      return;
    }
    if (names.has(o.name)) issues.push({ path: `${path}.name`, message: `output '${o.name}' requested twice` });
    names.add(o.name);
    const k: unknown = o.parameters?.classification;
    if (k === undefined) return;
    // The REST schema refuses these too; gRPC's parameters (int64, double, string or bool) come here as they are.
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_CLASSIFICATION) {
      issues.push({ path: `${path}.parameters.classification`, message: `classification must be an integer from 1 to ${MAX_CLASSIFICATION} (got ${JSON.stringify(k) ?? String(k)})` });
    } else if (spec.datatype === 'BYTES' || spec.datatype === 'BOOL' || spec.shape.length === 0) {
      issues.push({ path: `${path}.parameters.classification`, message: `classification needs a numeric output with rows; '${o.name}' is ${spec.datatype} ${fmt(spec.shape)}` });
    }
    // A row's elements are its classes, whatever their shape ([batch, 1000, 1, 1] has 1,000), a
    // k past them answers every class, and a class past labels.txt comes without its label
    // ("value:index"), as Triton answers all three (postprocess/classify.ts in the worker).
  });
}

/** Checks names, datatypes, shapes, element counts and values; converts data to bytes. */
export function checkRequest(
  sig: Signature,
  inputs: InputTensor[],
  outputs: RequestedOutput[] = [],
): CheckResult {
  const issues: InputIssue[] = [];
  const seen = new Set<string>();
  const raw: RawTensor[] = [];
  let rows: number | undefined;
  inputs.forEach((t, i) => {
    const path = `inputs[${i}]`;
    const spec = sig.inputs.find((s) => s.name === t.name);
    if (!spec) {
      issues.push({ path: `${path}.name`, message: `unknown input '${t.name}'; the model expects: ${sig.inputs.map((s) => s.name).join(', ')}` });
      return;
    }
    if (seen.has(t.name)) {
      issues.push({ path: `${path}.name`, message: `input '${t.name}' given twice` });
      return;
    }
    seen.add(t.name);
    if (t.datatype !== spec.datatype) {
      issues.push({ path: `${path}.datatype`, message: `'${t.name}' is ${spec.datatype}, not ${t.datatype}` });
      return;
    }
    const shapeIssue = checkShape(spec, t.shape, sig.batchable);
    if (shapeIssue) {
      issues.push({ path: `${path}.shape`, message: shapeIssue });
      return;
    }
    if (sig.batchable) {
      if (rows === undefined) rows = t.shape[0]!;
      else if (t.shape[0] !== rows) {
        issues.push({ path: `${path}.shape`, message: `batch dimension ${t.shape[0]} differs from the other inputs' ${rows}` });
        return;
      }
    }
    let enc;
    if (t.data instanceof BinaryData) {
      enc = checkBytes(t.name, t.datatype, t.shape, t.data.value);
    } else {
      const flat = flattenData(t.data, t.shape);
      if (!flat.ok) {
        issues.push({ path: `${path}.data`, message: flat.message });
        return;
      }
      enc = encodeValues(t.name, t.datatype, t.shape, flat.values);
    }
    if (!enc.ok) {
      issues.push({ path: `${path}.data`, message: enc.message });
      return;
    }
    raw.push(enc.tensor);
  });
  for (const spec of sig.inputs) {
    if (!seen.has(spec.name)) issues.push({ path: 'inputs', message: `missing input '${spec.name}' (${spec.datatype} ${fmt(spec.shape)})` });
  }
  checkOutputs(outputs, sig, issues);
  if (issues.length > 0) return { ok: false, issues };
  // Order the tensors as the model declares them, so every job's payload has the same layout.
  raw.sort((a, b) => sig.inputs.findIndex((s) => s.name === a.name) - sig.inputs.findIndex((s) => s.name === b.name));
  return { ok: true, value: { inputs: raw, rows: rows ?? raw[0]?.shape[0] ?? 1, outputs } };
}

/**
 * PURE: what keeps tensors the API checked (`checkRequest`) from running on `sig` as a worker
 * reads the model now, or undefined when they fit: the API and each worker read the repository
 * on their own (its poll, a load), so a file replaced in between may take other inputs, and its
 * jobs are refused as invalid input, not run into an onnxruntime error (a lifecycle audit:
 * hundreds of valid requests answered 500 while a model was replaced). Names, datatypes and
 * shapes only: cheap enough for every job.
 */
export function misfit(sig: Signature, inputs: readonly Pick<RawTensor, 'name' | 'datatype' | 'shape'>[], outputs: readonly RequestedOutput[] = []): InputIssue | undefined {
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i]!;
    const spec = sig.inputs.find((s) => s.name === t.name);
    if (!spec) return { path: `inputs[${i}].name`, message: `unknown input '${t.name}'; the model has: ${sig.inputs.map((s) => s.name).join(', ')}` };
    if (spec.datatype !== t.datatype) return { path: `inputs[${i}].datatype`, message: `${t.datatype}; ${spec.name} is ${spec.datatype}` };
    const shape = checkShape(spec, t.shape, sig.batchable);
    if (shape) return { path: `inputs[${i}].shape`, message: shape };
  }
  const missing = sig.inputs.find((s) => !inputs.some((t) => t.name === s.name));
  if (missing) return { path: 'inputs', message: `missing input '${missing.name}'` };
  const i = outputs.findIndex((o) => !sig.outputs.some((s) => s.name === o.name));
  if (i >= 0) return { path: `outputs[${i}].name`, message: `unknown output '${outputs[i]!.name}'; the model has: ${sig.outputs.map((s) => s.name).join(', ')}` };
  return undefined;
}
