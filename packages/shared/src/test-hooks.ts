/**
 * TEST HOOKS (e2e only; never set in production): `MAAS_TEST_DIE_AT=<point>` SIGKILLs the
 * process when it reaches that point, so an e2e test can prove what survives a crash at the
 * worst moment (see e2e/test/ledger.test.ts). It is read with the rest of a service's
 * environment (`DiePointEnv`) and armed at start (`armDieAt`); unarmed, a hook is one comparison.
 */
import { z } from 'zod';

const DIE_POINTS = [
  /** a worker recorded the ending that completed a batch, and has not yet relayed its batch.completed */
  'batch-completed',
  /** a worker recorded a job's ending (with its job.completed), before relaying it and settling the job */
  'job-ended',
  /** the API recorded a queued job's cancel, before relaying its job.completed */
  'cancel-recorded',
  /** the API marked a batch uploaded, before listing it and giving up its upload lease */
  'upload-marked',
  /** BullMQ failed a job on its own (stall limit) and told this worker, before it recorded the failure */
  'final-failure',
] as const;

export type DiePoint = (typeof DIE_POINTS)[number];

/** `MAAS_TEST_DIE_AT`: one of the points, or unset. */
export const DiePointEnv = z.enum(DIE_POINTS).optional();

let armed: DiePoint | undefined;

/** Arms the hook at `point` (MAAS_TEST_DIE_AT, parsed), or disarms it. */
export function armDieAt(point: DiePoint | undefined): void {
  armed = point;
}

export function dieAt(point: DiePoint): void {
  if (armed === point) process.kill(process.pid, 'SIGKILL');
}
