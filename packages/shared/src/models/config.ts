/** `models/<name>/config.json` (CONTRACT §2), Triton-shaped. Every field is optional. */
import { z } from 'zod';

export const VersionPolicy = z.union([
  z.object({ latest: z.number().int().min(1) }).strict(),
  z.object({ all: z.literal(true) }).strict(),
  z.object({ specific: z.array(z.number().int().min(1)).min(1) }).strict(),
]);
export type VersionPolicy = z.infer<typeof VersionPolicy>;

export const ModelConfigFile = z
  .object({
    /** rows per ONNX run; 0 = the model cannot batch (each job is run alone) */
    max_batch_size: z.number().int().min(0).max(1_000_000).optional(),
    /** with `preferred_batch_sizes`: how long the batcher may hold the first job of a run waiting for more (without them an idle session runs what is pending at once) */
    max_queue_delay_ms: z.number().min(0).max(60_000).optional(),
    /** batch sizes the batcher aims for when it has more rows than one of them */
    preferred_batch_sizes: z.array(z.number().int().min(1)).optional(),
    /** onnxruntime execution providers in order of preference, e.g. ["cuda", "cpu"] */
    execution_providers: z.array(z.string().min(1)).optional(),
    version_policy: VersionPolicy.optional(),
    /** ONNX sessions (each in its own thread) per worker process for this model */
    instances: z.number().int().min(1).max(64).optional(),
    /** v2 infer answers kept by the API and given again for the same inputs (its RESPONSE_CACHE_MB; Triton's response_cache) */
    response_cache: z.boolean().optional(),
    /** rows of each warm-up run of zeros at load (warmup.ts); [] = none; unset: 1 and max_batch_size */
    warmup_batch_sizes: z.array(z.number().int().min(1).max(1_000_000)).max(8).optional(),
  })
  .strict()
  // As Triton refuses them: a run never holds more than max_batch_size rows, so such a size could never be aimed for.
  .superRefine((c, ctx) => {
    const over = c.max_batch_size ? (c.preferred_batch_sizes ?? []).filter((n) => n > c.max_batch_size!) : [];
    if (over.length) ctx.addIssue({ code: 'custom', path: ['preferred_batch_sizes'], message: `${over.join(', ')} exceed${over.length === 1 ? 's' : ''} max_batch_size ${c.max_batch_size}` });
    // And a model that cannot batch has no batch sizes to aim for (it was dropped without a word: a lifecycle audit).
    if (c.max_batch_size === 0 && c.preferred_batch_sizes?.length) {
      ctx.addIssue({ code: 'custom', path: ['preferred_batch_sizes'], message: 'max_batch_size 0 runs each job alone: there is no batch size to prefer (drop preferred_batch_sizes, or let the model batch)' });
    }
  });
export type ModelConfigFile = z.infer<typeof ModelConfigFile>;

/** The fewest rows a run holds by default; models with small rows get more (default-batch-size.ts). */
export const MIN_DEFAULT_MAX_BATCH_SIZE = 64;
export const DEFAULT_MAX_QUEUE_DELAY_MS = 5;

/** The config after defaults and the model's own shapes are applied. */
export interface ModelConfig {
  /** from config.json; undefined: each version's own default (default-batch-size.ts), in its `maxBatchSize` */
  max_batch_size: number | undefined;
  max_queue_delay_ms: number;
  preferred_batch_sizes: number[];
  execution_providers: string[] | undefined;
  version_policy: VersionPolicy;
  instances: number;
  /** v2 infer answers may come from the API's response cache */
  response_cache: boolean;
  /** from config.json; undefined: the default runs (warmup.ts) */
  warmup_batch_sizes: number[] | undefined;
}
