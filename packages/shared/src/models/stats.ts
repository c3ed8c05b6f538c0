/**
 * PURE: the statistics hash of a model version (`statsKey`), as the worker increments it and
 * as Triton's statistics extension reports it. Durations are kept in nanoseconds, as Triton
 * reports them; `execution_count` counts ONNX runs, so inference_count / execution_count is
 * the average batch the micro-batcher formed.
 */
import { z } from 'zod';

/** Fields of the hash; batch sizes add `batch.<rows>.count` and `batch.<rows>.ns`. */
export const STAT = {
  successCount: 'success.count', successNs: 'success.ns',
  failCount: 'fail.count', failNs: 'fail.ns',
  queueCount: 'queue.count', queueNs: 'queue.ns',
  inferCount: 'compute_infer.count', inferNs: 'compute_infer.ns',
  inferenceCount: 'inference_count', executionCount: 'execution_count', lastInference: 'last_inference',
  /** written by the API for its response cache (services/inference.ts): a hit is also a success, never an inference or an execution (Triton's rule) */
  cacheHitCount: 'cache_hit.count', cacheHitNs: 'cache_hit.ns',
  cacheMissCount: 'cache_miss.count', cacheMissNs: 'cache_miss.ns',
} as const;

export const batchFields = (rows: number) => ({ count: `batch.${rows}.count`, ns: `batch.${rows}.ns` });

/** Milliseconds → whole nanoseconds. */
export const msToNs = (ms: number): number => Math.max(0, Math.round(ms * 1e6));

/** A count and its total duration in nanoseconds. */
export const StatisticDuration = z.strictObject({ count: z.number().int().min(0), ns: z.number().int().min(0) });
export type StatisticDuration = z.infer<typeof StatisticDuration>;

/**
 * One model version's statistics, in Triton's field names (the REST statistics extension and
 * gRPC ModelStatistics): the schema `toModelStatistics` produces and the OpenAPI document shows.
 */
export const ModelStatistics = z.strictObject({
  name: z.string(),
  version: z.string(),
  last_inference: z.number().int().min(0).describe('ms since the epoch of the last inference; 0 = never'),
  inference_count: z.number().int().min(0).describe('rows inferred'),
  execution_count: z.number().int().min(0).describe('ONNX runs (inference_count / execution_count = average batch)'),
  inference_stats: z.strictObject({
    success: StatisticDuration,
    fail: StatisticDuration,
    queue: StatisticDuration,
    compute_input: StatisticDuration,
    compute_infer: StatisticDuration,
    compute_output: StatisticDuration,
    cache_hit: StatisticDuration,
    cache_miss: StatisticDuration,
  }),
  batch_stats: z.array(
    z.strictObject({ batch_size: z.number().int(), compute_input: StatisticDuration, compute_infer: StatisticDuration, compute_output: StatisticDuration }),
  ),
});
export type ModelStatistics = z.infer<typeof ModelStatistics>;

const ZERO: StatisticDuration = { count: 0, ns: 0 };

/** One model version's hash (empty when it never ran) → Triton's ModelStatistics. */
export function toModelStatistics(name: string, version: number, hash: Record<string, string>): ModelStatistics {
  const n = (field: string) => Number(hash[field] ?? 0) || 0;
  const sizes = new Set<number>();
  for (const k of Object.keys(hash)) {
    const m = /^batch\.([0-9]+)\.count$/.exec(k);
    if (m) sizes.add(Number(m[1]));
  }
  return {
    name,
    version: String(version),
    last_inference: n(STAT.lastInference),
    inference_count: n(STAT.inferenceCount),
    execution_count: n(STAT.executionCount),
    inference_stats: {
      success: { count: n(STAT.successCount), ns: n(STAT.successNs) },
      fail: { count: n(STAT.failCount), ns: n(STAT.failNs) },
      queue: { count: n(STAT.queueCount), ns: n(STAT.queueNs) },
      compute_input: ZERO,
      compute_infer: { count: n(STAT.inferCount), ns: n(STAT.inferNs) },
      compute_output: ZERO,
      cache_hit: { count: n(STAT.cacheHitCount), ns: n(STAT.cacheHitNs) },
      cache_miss: { count: n(STAT.cacheMissCount), ns: n(STAT.cacheMissNs) },
    },
    batch_stats: [...sizes].sort((a, b) => a - b).map((rows) => {
      const f = batchFields(rows);
      return { batch_size: rows, compute_input: ZERO, compute_infer: { count: n(f.count), ns: n(f.ns) }, compute_output: ZERO };
    }),
  };
}
