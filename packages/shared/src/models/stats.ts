/**
 * PURE: the statistics hash of a model version (`statsKey`), as the worker increments it and
 * as Triton's statistics extension reports it. Durations are kept in nanoseconds, as Triton
 * reports them; `execution_count` counts ONNX runs, so inference_count / execution_count is
 * the average batch the micro-batcher formed.
 */

/** Fields of the hash; batch sizes add `batch.<rows>.count` and `batch.<rows>.ns`. */
export const STAT = {
  successCount: 'success.count', successNs: 'success.ns',
  failCount: 'fail.count', failNs: 'fail.ns',
  queueCount: 'queue.count', queueNs: 'queue.ns',
  inferCount: 'compute_infer.count', inferNs: 'compute_infer.ns',
  inferenceCount: 'inference_count', executionCount: 'execution_count', lastInference: 'last_inference',
} as const;

export const batchFields = (rows: number) => ({ count: `batch.${rows}.count`, ns: `batch.${rows}.ns` });

/** Milliseconds → whole nanoseconds. */
export const msToNs = (ms: number): number => Math.max(0, Math.round(ms * 1e6));

export interface StatisticDuration {
  count: number;
  ns: number;
}

export interface ModelStatistics {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output' | 'cache_hit' | 'cache_miss', StatisticDuration>;
  batch_stats: { batch_size: number; compute_input: StatisticDuration; compute_infer: StatisticDuration; compute_output: StatisticDuration }[];
}

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
      cache_hit: ZERO,
      cache_miss: ZERO,
    },
    batch_stats: [...sizes].sort((a, b) => a - b).map((rows) => {
      const f = batchFields(rows);
      return { batch_size: rows, compute_input: ZERO, compute_infer: { count: n(f.count), ns: n(f.ns) }, compute_output: ZERO };
    }),
  };
}
