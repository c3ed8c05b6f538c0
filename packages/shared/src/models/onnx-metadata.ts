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
}

interface ValueInfoLike {
  name?: string | null;
  type?: { tensorType?: { elemType?: number | null; shape?: { dim?: { dimValue?: unknown; dimParam?: string | null }[] | null } | null } | null } | null;
}

function toSpec(v: ValueInfoLike, file: string): TensorSpec {
  const name = v.name ?? '';
  const tt = v.type?.tensorType;
  if (!tt) throw new Error(`${file}: ${name} is not a tensor (sequences and maps are not supported)`);
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
  if (!graph) throw new Error(`${file}: no graph`);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  return {
    inputs: (graph.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map((i) => toSpec(i as ValueInfoLike, file)),
    outputs: (graph.output ?? []).map((o) => toSpec(o as ValueInfoLike, file)),
  };
}
