/**
 * Reads input/output names, datatypes and shapes from an ONNX file with a protobuf decoder,
 * so the API validates requests without loading onnxruntime.
 */
import onnxProto from 'onnx-proto';
import { datatypeFromOnnx } from '../contract/datatypes.js';
import type { TensorSpec } from '../contract/tensor.js';

const { onnx } = onnxProto;

export interface OnnxSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /**
   * Whether the outputs' first dimensions may be the inputs' rows, by the names the file gives
   * them: only when each output's first dimension has the name of an input's. False when one
   * is named apart (`[batch, 4]` in, `[num_detections, 7]` out: NonMaxSuppression's kind) or
   * has no name while the inputs' have (nothing says it is the rows: a mean over the batch,
   * exported without names, failed every packed run: a model-zoo audit). True when an input's
   * first dimension has no name (nothing to compare with).
   */
  rowAligned: boolean;
}

interface ValueInfoLike {
  name?: string | null;
  type?: { tensorType?: { elemType?: number | null; shape?: { dim?: { dimValue?: unknown; dimParam?: string | null }[] | null } | null } | null } | null;
}

function toSpec(v: ValueInfoLike, file: string, input = false): TensorSpec {
  const name = v.name ?? '';
  const tt = v.type?.tensorType;
  if (!tt) throw new Error(`${file}: ${name} is not a tensor (sequences and maps are not supported)`);
  // An input without a shape has no known rank (ONNX): requests could not be checked against it,
  // and it read as a scalar, refusing every real tensor (a lifecycle audit). An output's is left
  // as it was read (rank 0): the service reads what the run gives.
  if (input && tt.shape == null) throw new Error(`${file}: input ${name} has no shape (its rank is unknown); the service needs each input's rank`);
  const datatype = datatypeFromOnnx(tt.elemType ?? 0);
  if (!datatype) throw new Error(`${file}: ${name} has ONNX elem_type ${tt.elemType}, which the service does not support`);
  const dims = tt.shape?.dim ?? [];
  const shape = dims.map((d) => {
    const value = d.dimValue == null ? 0 : Number(d.dimValue);
    return d.dimParam || value <= 0 ? -1 : value;
  });
  return { name, datatype, shape };
}

/** Parses the model's graph signature (initializers listed as inputs are excluded, as ORT does). */
export function readOnnxSignature(bytes: Uint8Array, file: string): OnnxSignature {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new Error(`${file}: not a valid ONNX file (${(err as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw new Error(bytes.byteLength === 0 ? `${file}: the file is empty (0 bytes)` : `${file}: no graph`);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name ?? '')) as ValueInfoLike[];
  const outputs = (graph.output ?? []) as ValueInfoLike[];
  if (inputs.length === 0) throw new Error(`${file}: the graph has no inputs, so no request could run it`);
  return {
    inputs: inputs.map((i) => toSpec(i, file, true)),
    outputs: outputs.map((o) => toSpec(o, file)),
    rowAligned: rowAligned(inputs.map(firstDimName), outputs.map(firstDimName)),
  };
}

const firstDimName = (v: ValueInfoLike): string | undefined => v.type?.tensorType?.shape?.dim?.[0]?.dimParam || undefined;

/** PURE: see OnnxSignature.rowAligned. */
export function rowAligned(inputNames: readonly (string | undefined)[], outputNames: readonly (string | undefined)[]): boolean {
  if (inputNames.some((n) => n === undefined)) return true;
  const rows = new Set(inputNames);
  return outputNames.every((n) => n !== undefined && rows.has(n));
}
