/**
 * A run that failed for what its rows hold (not for its session: runner.ts retries those):
 * the rows run again in smaller groups until the job, the batch chunk's line or the packed
 * job's member at fault is found, so only it fails, with its own message, and the rest succeed.
 */
import { withoutValues, type JobError, type Logger } from '@maas/shared';
import type { Slice } from './batching/cut.js';
import { LINES_FAILED_TOGETHER, MAX_LINES_FAILED_ALONE } from './chunk-lines/failed-lines.js';
import { failedJobs } from './failed-jobs.js';
import { RunRejectedError } from './inference/run-rejected.js';
import { memberPieces } from './postprocess/outputs.js';
import { linesOf, type Task } from './task.js';

/** What the isolation does with what it finds: the runner's own steps. */
export interface Rerun {
  /** runs these slices again as a run of their own (failing again comes back here) */
  run(slices: Slice<Task>[]): Promise<void>;
  /** every row of the task ran or failed alone (`rowErrors`, `memberErrors`) */
  finish(task: Task): void;
  /** a final failure, recorded */
  failWith(task: Task, error: JobError): void;
  log: Logger;
}

export async function isolateFailure(packed: readonly Slice<Task>[], err: Error, rerun: Rerun): Promise<void> {
  const rows = packed.reduce((n, s) => n + s.end - s.start, 0);
  const jobs = [...new Set(packed.map((s) => s.job))];
  if (jobs.length > 1) {
    // One request's rows can fail a run others share (an index out of a table's range):
    // each job's rows run again alone, so only the job at fault fails, with its own message.
    rerun.log.warn({ err: withoutValues(err.message), rows, jobs: jobs.length }, 'a shared run failed; its jobs run again one by one');
    for (const job of jobs) await rerun.run(packed.filter((s) => s.job === job));
    return;
  }
  const error: JobError = { type: 'inference-failed', message: err.message };
  if (linesOf(packed[0]!.job)) return isolateLines(packed, err, error, rerun);
  if ((packed[0]!.job.job.data.members?.length ?? 0) > 1) return isolateMembers(packed, err, error, rerun);
  logFailed(rerun.log, err, { ...failedJobs([packed[0]!.job]), rows });
  for (const s of packed) rerun.failWith(s.job, error);
}

/**
 * One line per failed run that fails jobs (model and version are the runner's logger's), naming
 * them: a warning without a stack when onnxruntime refused the rows' values (RunRejectedError: the
 * client's input, not an incident), an error with its stack otherwise (the model or the worker).
 */
function logFailed(log: Logger, err: Error, fields: Record<string, unknown>): void {
  // The client's input: its values masked (they are the tenant's, kept in its job's error).
  if (err instanceof RunRejectedError) log.warn({ ...fields, cause: 'input', err: withoutValues(err.message) }, 'inference failed');
  else log.error({ ...fields, cause: 'worker', err }, 'inference failed');
}

/** Chunks whose first failed line is logged. */
const chunksLogged = new WeakSet<Task>();

/**
 * A batch chunk's failed run: its lines run again in halves, down to single lines, so a line
 * whose values fail the model (an index past a table's end) fails alone with its error and the
 * chunk's other lines succeed, as a line that fails its checks does. A line of several rows
 * fails whole, its rows that ran in other runs dropped (runner.ts `finish`). A run that fails
 * for every line would cost about two runs a line, so past MAX_LINES_FAILED_ALONE failed lines
 * a chunk's failing runs fail all their lines at once.
 */
async function isolateLines(slices: readonly Slice<Task>[], err: Error, error: JobError, rerun: Rerun): Promise<void> {
  for (const s of slices) {
    const task = s.job;
    const lines = task.lines!;
    const [first, last] = lines.touched(s.start, s.end);
    if (last - first > 1 && (task.rowErrors?.size ?? 0) < MAX_LINES_FAILED_ALONE) {
      const mid = lines.start((first + last) >>> 1);
      await rerun.run([{ ...s, end: mid }]);
      await rerun.run([{ ...s, start: mid }]);
      continue;
    }
    if (task.failed) continue;
    if (!chunksLogged.has(task)) {
      // One line a chunk, at its first failed line: a tenant's file of bad lines would otherwise
      // write a line for each (up to MAX_LINES_FAILED_ALONE a chunk); its results name them all.
      chunksLogged.add(task);
      logFailed(rerun.log, err, { job_id: task.job.id, batch_id: task.job.data.batch!.id, tenant: task.job.data.tenant, chunk_lines: [first, last], rows: s.end - s.start, first_of_chunk: true });
    }
    const rowErrors = (task.rowErrors ??= new Map());
    // Lines failed together past the bound: the run's message may hold another line's values.
    const lineError = last - first > 1 ? LINES_FAILED_TOGETHER : error;
    for (let line = first; line < last; line++) {
      const start = lines.start(line);
      if (!rowErrors.has(start)) rowErrors.set(start, lineError);
    }
    task.done += s.end - s.start;
    if (task.done === task.rows) rerun.finish(task);
  }
}

/**
 * A carrier's failed run (`/v1/jobs` the API packed into one job): each member's rows in it
 * run again alone, so a member whose values fail the model fails alone, with its own error,
 * and the others succeed, as if they had never been packed.
 */
async function isolateMembers(slices: readonly Slice<Task>[], err: Error, error: JobError, rerun: Rerun): Promise<void> {
  for (const s of slices) {
    const task = s.job;
    const pieces = memberPieces(task.job.data.members!, s.start, s.end);
    if (pieces.length > 1) {
      rerun.log.warn({ err: withoutValues(error.message), members: pieces.length }, 'a packed job\'s run failed; its members run again one by one');
      for (const p of pieces) await rerun.run([{ ...s, start: p.start, end: p.end }]);
      continue;
    }
    if (task.failed || !pieces[0]) continue;
    logFailed(rerun.log, err, { job_ids: [pieces[0].member.id], jobs: 1, tenants: [task.job.data.tenant], rows: s.end - s.start });
    (task.memberErrors ??= new Map()).set(pieces[0].member.id, error);
    task.done += s.end - s.start;
    if (task.done === task.rows) rerun.finish(task);
  }
}
