/** KServe v2 JSON tensors (CONTRACT §3) as they appear in requests and responses. */
import { z } from 'zod';
import { DATATYPES, type Datatype } from './datatypes.js';

/** A dimension of a model's declared shape: a number, or -1 for a symbolic (variable) one. */
export type Dim = number;

/**
 * The most dimensions a tensor's shape may have: ONNX models use a handful, and a shape of
 * 130,000 dimensions only made 130,000 problems (and overflowed zod's stack: a 500).
 */
export const MAX_DIMS = 64;

/** The most inputs, or requested outputs, one request may list (each checked against the model). */
export const MAX_TENSORS = 4096;

/** The largest `classification` k a request may ask for. */
export const MAX_CLASSIFICATION = 1000;

/**
 * An optional field that may also be sent as `null`, read as absent: the Open Inference
 * Protocol marks `id`, `parameters` and `outputs` optional, and clients that serialise their
 * models without dropping unset fields send them as null (KServe's Python SDK sends `"id": null`).
 */
export const absentIfNull = <T extends z.ZodType>(schema: T) => schema.nullable().transform((v) => v ?? undefined).optional();

/** Triton's shared-memory parameters (its shared-memory extension, which this server does not offer). */
const SHARED_MEMORY_KEYS = ['shared_memory_region', 'shared_memory_byte_size', 'shared_memory_offset'] as const;

/**
 * Why a tensor's (or requested output's) parameters cannot be served, when they ask for shared
 * memory: refused by name rather than ignored as an unknown parameter, since a client that
 * asked for an output in a region would read the region, not the response. REST and gRPC alike.
 */
export function sharedMemoryProblem(parameters: Record<string, unknown> | undefined): string | undefined {
  const key = SHARED_MEMORY_KEYS.find((k) => parameters?.[k] !== undefined && parameters[k] !== null);
  return key && `${key}: shared memory is not supported (no region can be registered here): send the tensor's data in the request and read outputs from the response`;
}

const refuseSharedMemory = (parameters: Record<string, unknown>, ctx: z.RefinementCtx): void => {
  const problem = sharedMemoryProblem(parameters);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};

export const ClassificationParams = z.object({ classification: z.number().int().min(1).max(MAX_CLASSIFICATION) }).strict();

/**
 * A requested output. Its parameters may hold anything (KServe and Triton clients send
 * `binary_data` on every output); `classification` is the one the job itself uses, and
 * `binary_data` the one the front door reads (binary tensor extension). Others are dropped, but
 * for Triton's shared-memory ones, which are refused (`sharedMemoryProblem`).
 */
export const RequestedOutput = z.object({
  name: z.string().min(1),
  parameters: absentIfNull(z.looseObject({
    classification: ClassificationParams.shape.classification.optional(),
    binary_data: z.boolean().optional(),
  }).superRefine(refuseSharedMemory).transform(({ classification, binary_data }) => ({
    ...(classification !== undefined ? { classification } : {}),
    ...(binary_data !== undefined ? { binary_data } : {}),
  }))),
});
export type RequestedOutput = z.infer<typeof RequestedOutput>;

/**
 * Tensor values in JSON: an array, checked here as one. Each element is checked against the
 * datatype where the values are encoded (`encodeValues`). `z.array(z.unknown())` would also
 * visit every element, making two objects for each and a copy of the array (zod 4): 4.0–4.4
 * ms for one 150,528-value image here, and that much more garbage to collect. Its JSON Schema
 * is `z.array(z.unknown())`'s.
 */
export const ValuesArray = z
  .unknown()
  .refine((v) => Array.isArray(v), {
    // Worded as zod words a type mismatch, and aborting as one: a union (InputTensor) then
    // answers with its own message, as it does when none of its members matches.
    error: (issue) => `Invalid input: expected array, received ${issue.input === null ? 'null' : typeof issue.input}`,
    abort: true,
  })
  .meta({ type: 'array', items: {} }) as unknown as z.ZodType<unknown[]>;

/** A request tensor; `data` is any array (see ValuesArray). */
export const JsonTensor = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().min(0)).max(MAX_DIMS),
  datatype: z.enum(DATATYPES),
  data: ValuesArray,
  parameters: absentIfNull(z.record(z.string(), z.unknown()).superRefine(refuseSharedMemory)),
});
export type JsonTensor = z.infer<typeof JsonTensor>;

/**
 * Tensor contents that arrived as bytes (binary tensor extension, gRPC raw contents): the
 * little-endian row-major elements, or for BYTES one string per element. A class, so that no
 * JSON body can pose as it.
 */
export class BinaryData {
  constructor(readonly value: Uint8Array | string[]) {}
}

/** An input of a request: JSON `data`, or contents that came as bytes. */
export const InputTensor = JsonTensor.extend({
  data: z.union([ValuesArray, z.instanceof(BinaryData)], {
    error: 'data is required (or parameters.binary_data_size with the binary tensor extension)',
  }),
});
export type InputTensor = z.infer<typeof InputTensor>;

/** A response tensor: flat row-major data. */
export interface OutputTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: (number | boolean | string)[];
}

/** A tensor the model declares: `shape` uses -1 for symbolic dims. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: Dim[];
}
