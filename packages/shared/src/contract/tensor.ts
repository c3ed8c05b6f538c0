/** KServe v2 JSON tensors (CONTRACT §3) as they appear in requests and responses. */
import { z } from 'zod';
import { DATATYPES, type Datatype } from './datatypes.js';

/** A dimension of a model's declared shape: a number, or -1 for a symbolic (variable) one. */
export type Dim = number;

export const ClassificationParams = z.object({ classification: z.number().int().min(1).max(1000) }).strict();

export const RequestedOutput = z.object({
  name: z.string().min(1),
  parameters: ClassificationParams.partial().optional(),
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
