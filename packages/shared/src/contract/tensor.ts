/** KServe v2 JSON tensors (CONTRACT §3) as they appear in requests and responses. */
import { z } from 'zod';
import { DATATYPES, type Datatype } from './datatypes.js';

/** A dimension of a model's declared shape: a number, or -1 for a symbolic (variable) one. */
export type Dim = number;

export const ClassificationParams = z.object({ classification: z.number().int().min(1).max(1000) }).strict();

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
 * A request tensor. `data` is checked element by element by `encodeTensor` (a zod schema per
 * element would cost more than the inference for large inputs), so here it is just an array.
 */
export const JsonTensor = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().min(0)),
  datatype: z.enum(DATATYPES),
  data: z.array(z.unknown()),
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
  data: z.union([z.array(z.unknown()), z.instanceof(BinaryData)], {
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
