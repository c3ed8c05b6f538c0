/** KServe v2 JSON tensors (CONTRACT §3) as they appear in requests and responses. */
import { z } from 'zod';
import { DATATYPES, type Datatype } from './datatypes.js';

/** A dimension of a model's declared shape: a number, or -1 for a symbolic (variable) one. */
export type Dim = number;

/** The largest `classification` k a request may ask for. */
export const MAX_CLASSIFICATION = 1000;

export const ClassificationParams = z.object({ classification: z.number().int().min(1).max(MAX_CLASSIFICATION) }).strict();

/**
 * A requested output. Its parameters may hold anything (KServe and Triton clients send
 * `binary_data` on every output); `classification` is the one the job itself uses, and
 * `binary_data` the one the front door reads (binary tensor extension). Others are dropped.
 */
export const RequestedOutput = z.object({
  name: z.string().min(1),
  parameters: z
    .object({
      classification: ClassificationParams.shape.classification.optional(),
      binary_data: z.boolean().optional(),
    })
    .optional(),
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
  shape: z.array(z.number().int().min(0)),
  datatype: z.enum(DATATYPES),
  data: ValuesArray,
  parameters: z.record(z.string(), z.unknown()).optional(),
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
