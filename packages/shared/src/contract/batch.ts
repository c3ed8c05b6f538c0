/**
 * Batch submissions (CONTRACT §4): the public batch object and the per-chunk records kept in
 * Redis (the script that records a chunk's outcome and completes the batch is
 * ledger/batch-scripts.ts).
 */
import type { JobError } from './job.js';

export const BATCH_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export interface BatchObject {
  id: string;
  object: 'batch';
  model: string;
  version: string;
  status: BatchStatus;
  counts: { total: number; succeeded: number; failed: number };
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** when the batch and its results are removed (set once it completes) */
  expires_at: string | null;
  webhook: string | null;
  error: JobError | null;
}

/**
 * One input line as kept with its chunk: [custom_id, rows, compact (1) or tensor (0) form,
 * error]. A line with an error has no rows in the chunk; its result is the error.
 */
export type ChunkLine = [customId: string, rows: number, compact: 0 | 1, error?: JobError];

/**
 * A chunk's outcome in the `chunks` hash: `s:<lines>` (ran), `p:<lines>:<json>` (ran, but for
 * some lines whose rows failed their run: `{"<row>": error}`, each such line by its first row,
 * counted from 0 among the chunk's rows; the outputs hold the other lines' rows only), `f:<lines>:<error json>` (failed), `c:<lines>`
 * (canceled before it ran). <lines> counts the chunk's lines that had rows.
 */
export type ChunkMarker = string;

export interface ChunkOutcome {
  kind: 's' | 'p' | 'f' | 'c';
  lines: number;
  /** 'f': why */
  error?: JobError;
  /** 'p': the lines that failed, by their first rows, each with its error */
  rowErrors?: Map<number, JobError>;
}

export function parseMarker(marker: string): ChunkOutcome {
  const kind = marker[0] as ChunkOutcome['kind'];
  const rest = marker.slice(2);
  const colon = rest.indexOf(':');
  if (kind === 'f' && colon >= 0) return { kind, lines: Number(rest.slice(0, colon)), error: JSON.parse(rest.slice(colon + 1)) as JobError };
  if (kind === 'p' && colon >= 0) {
    const rows = JSON.parse(rest.slice(colon + 1)) as Record<string, JobError>;
    return { kind, lines: Number(rest.slice(0, colon)), rowErrors: new Map(Object.entries(rows).map(([row, e]) => [Number(row), e])) };
  }
  return { kind, lines: Number(rest) };
}

/** Whether a chunk's outcome says it ran rows (`s:`/`p:` with lines), so its outputs are stored beside it (an empty record when none succeeded); read without parsing a `p:` record's errors. */
export const ranWithRows = (marker: ChunkMarker): boolean => /^[sp]:[1-9]/.test(marker);

export const succeededMarker = (lines: number): ChunkMarker => `s:${lines}`;
export const partlyMarker = (lines: number, rowErrors: ReadonlyMap<number, JobError>): ChunkMarker => `p:${lines}:${JSON.stringify(Object.fromEntries(rowErrors))}`;
export const failedMarker = (lines: number, error: JobError): ChunkMarker => `f:${lines}:${JSON.stringify(error)}`;
export const canceledMarker = (lines: number): ChunkMarker => `c:${lines}`;
