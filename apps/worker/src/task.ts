/** What the worker holds of a fetched job while its rows run (runner.ts), and what is read off it. */
import type { Job } from 'bullmq';
import type { InferenceJobData, InferenceJobResult, JobError, RawTensor } from '@maas/shared';
import { LineRanges } from './chunk-lines/line-ranges.js';
import type { QueuedJob } from './batching/queue-order.js';
import type { OutputPart } from './postprocess/outputs.js';

/** A job held by this worker until all its rows have run. */
export interface Task {
  job: Job<InferenceJobData>;
  inputs: RawTensor[];
  rows: number;
  receivedAt: number;
  dispatchedAt?: number;
  done: number;
  parts: OutputPart[];
  inferenceMs: number;
  /** rows of the largest run this job was part of (its `batch_size` metric) */
  maxRunRows: number;
  runs: number;
  failed: boolean;
  /** when a run last checked this job for a cancel (batching/cancel-check.ts) */
  cancelCheckedAt?: number;
  /** a batch chunk's lines whose rows failed their run alone (failed-runs.ts), by the line's first row: they fail, the others succeed */
  rowErrors?: Map<number, JobError>;
  /** a batch chunk's lines among its rows, once a run of it failed (undefined: not yet asked; null: they cannot be placed) */
  lines?: LineRanges | null;
  /** a carrier's members whose rows failed alone (failed-runs.ts), by id: they fail, the others succeed */
  memberErrors?: Map<string, JobError>;
  resolve: (r: InferenceJobResult) => void;
  reject: (e: Error) => void;
}

/** A batch chunk's lines among its rows, placed once (a failed line fails alone: failed-runs.ts); undefined for other jobs, and for chunks that do not say where their lines lie. */
export function linesOf(t: Task): LineRanges | undefined {
  const b = t.job.data.batch;
  if (t.lines === undefined) t.lines = b && t.rows > 0 ? LineRanges.of(t.rows, b.lines, b.lineRows) ?? null : null;
  return t.lines ?? undefined;
}

/** Where the job stands in its queue (batching/queue-order.ts). */
export const queued = (t: Task): QueuedJob => ({ priority: t.job.opts.priority, timestamp: t.job.timestamp, batch: t.job.data.batch });
