/**
 * PURE: gRPC ModelInfer messages ↔ the service's tensors. Inputs come either as typed
 * `contents` (InferTensorContents, JSON-like values) or as `raw_input_contents`, one bytes
 * entry per input (little-endian row-major; BYTES as 4-byte length + bytes). Outputs go back
 * the way the inputs came: raw contents to a raw request (as Triton answers), typed contents
 * otherwise. FP16 has no field in InferTensorContents, so it comes and goes only raw (as in
 * Triton): an answer with an FP16 output is raw whole. Malformed messages are ValidationErrors
 * (INVALID_ARGUMENT).
 */
import {
  BinaryData, floatOf, integerOf, isDatatype, MAX_DIMS, MAX_TENSORS, rawOf, sharedMemoryProblem, typedView, ValidationError, type Datatype, type InputIssue, type InputTensor, type OutputTensor, type RequestedOutput,
} from '@maas/shared';
import { bytesElementText, decodeBytesElements, outputBytes } from '../binary/framing.js';
import { MAX_REQUEST_ID } from '../routes/kserve.js';
import { inferOptions, type InferOptions } from '../inference/request-parameters.js';

/** proto-loader's view of an InferParameter (oneofs: true). */
export interface GrpcParameter {
  parameter_choice?: string;
  bool_param?: boolean;
  int64_param?: number | string;
  string_param?: string;
  double_param?: number;
  uint64_param?: number | string;
}

export type GrpcContents = Partial<Record<ContentsField, unknown[]>>;

export interface GrpcInputTensor {
  name: string;
  datatype: string;
  shape: (number | string)[];
  parameters?: Record<string, GrpcParameter>;
  contents?: GrpcContents | null;
}

export interface GrpcInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, GrpcParameter>;
  inputs: GrpcInputTensor[];
  outputs: { name: string; parameters?: Record<string, GrpcParameter> }[];
  raw_input_contents: Buffer[];
}

type ContentsField =
  | 'bool_contents' | 'int_contents' | 'int64_contents' | 'uint_contents' | 'uint64_contents' | 'fp32_contents' | 'fp64_contents' | 'bytes_contents';

/** The InferTensorContents field that carries each datatype (none for FP16). */
export const CONTENTS_FIELD: Record<Datatype, ContentsField | undefined> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents', INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents', UINT64: 'uint64_contents',
  FP16: undefined, FP32: 'fp32_contents', FP64: 'fp64_contents', BYTES: 'bytes_contents',
};

/** An InferParameter's value, whichever of its oneof fields is set. */
export function parameterValue(p: GrpcParameter | undefined): unknown {
  if (!p) return undefined;
  const choice = p.parameter_choice as keyof GrpcParameter | undefined;
  const v = choice ? p[choice] : undefined;
  return choice === 'int64_param' || choice === 'uint64_param' ? Number(v) : v;
}

const plainParameters = (m: Record<string, GrpcParameter> | undefined) =>
  Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, parameterValue(v)]));

export interface ParsedInfer {
  id: string | undefined;
  inputs: InputTensor[];
  outputs: RequestedOutput[] | undefined;
  /** answer with raw_output_contents (the request used raw_input_contents) */
  raw: boolean;
  /** its `priority` and `timeout` parameters */
  options: InferOptions;
}

/** A ModelInferRequest → the inputs and requested outputs of a job. */
export function fromInferRequest(req: GrpcInferRequest): ParsedInfer {
  // Bounded before anything is read, as the REST schemas bound them (200,000 inputs had held the API for 4.6 s).
  for (const [field, n] of [['inputs', req.inputs.length], ['outputs', req.outputs.length]] as const) {
    if (n > MAX_TENSORS) throw new ValidationError([{ path: field, message: `at most ${MAX_TENSORS} (got ${n})` }]);
  }
  const issues: InputIssue[] = [];
  if (req.id.length > MAX_REQUEST_ID) issues.push({ path: 'id', message: `must be at most ${MAX_REQUEST_ID} characters (got ${req.id.length})` });
  const raw = req.raw_input_contents.length > 0;
  if (raw && req.raw_input_contents.length !== req.inputs.length) {
    issues.push({ path: 'raw_input_contents', message: `${req.raw_input_contents.length} entries for ${req.inputs.length} inputs (one per input, in order)` });
  }
  const inputs: InputTensor[] = [];
  req.inputs.forEach((t, i) => {
    const path = `inputs[${i}]`;
    if (!isDatatype(t.datatype)) {
      issues.push({ path: `${path}.datatype`, message: `unknown datatype '${t.datatype}'` });
      return;
    }
    if (t.shape.length > MAX_DIMS) {
      issues.push({ path: `${path}.shape`, message: `at most ${MAX_DIMS} dimensions (got ${t.shape.length})` });
      return;
    }
    // As the REST schema checks them (InputTensor): int64 on the wire, so a negative or a
    // dimension past 2^53 would otherwise reach the worker (a negative pair multiplies to a
    // matching count) or overflow the byte count of the check.
    const shape = t.shape.map(Number);
    const badDim = shape.findIndex((d) => !Number.isSafeInteger(d) || d < 0);
    if (badDim >= 0) {
      issues.push({ path: `${path}.shape[${badDim}]`, message: `must be an integer from 0 to ${Number.MAX_SAFE_INTEGER} (got ${String(t.shape[badDim])})` });
      return;
    }
    let data: unknown[] | BinaryData;
    const contents = t.contents ?? undefined;
    const given = contents ? (Object.keys(contents) as ContentsField[]).filter((k) => (contents[k]?.length ?? 0) > 0) : [];
    if (raw) {
      if (given.length) issues.push({ path: `${path}.contents`, message: 'contents must not be set when raw_input_contents is used' });
      const bytes = req.raw_input_contents[i];
      if (!bytes) return;
      try {
        data = new BinaryData(t.datatype === 'BYTES' ? decodeBytesElements(bytes, t.name) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      } catch (err) {
        issues.push({ path: `raw_input_contents[${i}]`, message: (err as Error).message });
        return;
      }
    } else {
      const field = CONTENTS_FIELD[t.datatype];
      if (!field) {
        issues.push({ path: `${path}.contents`, message: `${t.datatype} has no field in InferTensorContents: send it in raw_input_contents` });
        return;
      }
      const other = given.filter((k) => k !== field);
      if (other.length) {
        issues.push({ path: `${path}.contents`, message: `${t.datatype} goes in ${field}, not ${other.join(', ')}` });
        return;
      }
      const values = contents?.[field] ?? [];
      // Floats are packed as bytes, as raw contents would be: protobuf carries NaN and ±Infinity,
      // which JSON values cannot (the JSON value check refuses them as overflow).
      data = t.datatype === 'FP32' ? new BinaryData(new Uint8Array(Float32Array.from(values as number[]).buffer))
        : t.datatype === 'FP64' ? new BinaryData(new Uint8Array(Float64Array.from(values as number[]).buffer))
        : t.datatype === 'BYTES'
        ? values.map((b, i) => bytesElementText(b as Uint8Array, t.name, i))
        : t.datatype === 'INT64' || t.datatype === 'UINT64' ? values.map((v) => BigInt(v as string)) : values;
    }
    const parameters = plainParameters(t.parameters);
    const shm = sharedMemoryProblem(parameters);
    if (shm) issues.push({ path: `${path}.parameters`, message: shm });
    inputs.push({ name: t.name, datatype: t.datatype, shape, data, parameters });
  });
  req.outputs.forEach((o, i) => {
    const shm = sharedMemoryProblem(plainParameters(o.parameters));
    if (shm) issues.push({ path: `outputs[${i}].parameters`, message: shm });
  });
  if (issues.length) throw new ValidationError(issues);
  const options = inferOptions(plainParameters(req.parameters));
  const outputs = req.outputs.length
    ? req.outputs.map((o) => {
        const k = parameterValue(o.parameters?.['classification']);
        return { name: o.name, ...(k !== undefined ? { parameters: { classification: k as number } } : {}) };
      })
    : undefined;
  return { id: req.id || undefined, inputs, outputs, raw, options };
}

/** An output's typed contents: BYTES as bytes, INT64/UINT64 as decimal strings (exact past 2^53: shared tensors/exact-integers.ts), floats as numbers. */
function contentsOf(o: OutputTensor): unknown[] {
  if (o.datatype === 'BYTES') return o.data.map((s) => Buffer.from(String(s), 'utf8'));
  if (o.datatype === 'INT64' || o.datatype === 'UINT64') return o.data.map((v) => integerOf(v).toString());
  if (o.datatype === 'FP32' || o.datatype === 'FP64') {
    // From its bytes when it has them (one pass, −0 kept), else its JSON values (−0 a marker: exactFloat).
    const raw = rawOf(o);
    return raw && !Array.isArray(raw.data) ? Array.from(typedView(raw) as Float32Array | Float64Array) : o.data.map(floatOf);
  }
  return o.data;
}

/** Output tensors → ModelInferResponse fields (raw bytes or typed contents). */
export function toInferResponse(
  head: { model_name: string; model_version: string; id: string },
  outputs: OutputTensor[],
  rawRequest: boolean,
) {
  const raw = rawRequest || outputs.some((o) => !CONTENTS_FIELD[o.datatype]);
  return {
    ...head,
    parameters: {},
    outputs: outputs.map((o) => ({
      name: o.name,
      datatype: o.datatype,
      shape: o.shape,
      parameters: {},
      ...(raw ? {} : { contents: { [CONTENTS_FIELD[o.datatype]!]: contentsOf(o) } }),
    })),
    raw_output_contents: raw ? outputs.map(outputBytes) : [],
  };
}
