/**
 * TEST HOOKS (e2e only; never set in production): `MAAS_TEST_DIE_AT=<point>` SIGKILLs the
 * process when it reaches that point, so an e2e test can prove what survives a crash at the
 * worst moment (see e2e/test/ledger.test.ts). Unset, a hook is one string comparison.
 */
export type DiePoint =
  /** a worker recorded the ending that completed a batch, and has not yet relayed its batch.completed */
  | 'batch-completed'
  /** a worker recorded a job's ending (with its job.completed), before relaying it and settling the job */
  | 'job-ended'
  /** the API recorded a queued job's cancel, before relaying its job.completed */
  | 'cancel-recorded'
  /** BullMQ failed a job on its own (stall limit) and told this worker, before it recorded the failure */
  | 'final-failure';

export function dieAt(point: DiePoint): void {
  if (process.env['MAAS_TEST_DIE_AT'] === point) process.kill(process.pid, 'SIGKILL');
}
