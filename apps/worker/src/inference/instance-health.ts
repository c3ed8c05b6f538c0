/**
 * PURE: the life of a session instance (one thread with its own session) and the pool's choices
 * about it, apart from the threads themselves (see session-pool.ts).
 *
 * loading → ready → broken → (a replacement starts loading in the same slot)
 *
 * An instance breaks when its thread exits or errors, or when a run outlives the run timeout
 * (wedged). A broken instance never gets another run; its in-flight runs fail with
 * SessionLostError, which the runner retries through BullMQ.
 */
import { encodeJobError } from '@maas/shared';

export type InstanceState = 'loading' | 'ready' | 'broken';

export interface InstanceView {
  state: InstanceState;
  /** runs sent and not answered */
  inflight: number;
}

/** The ready instance with the fewest runs in flight (the first on a tie), or undefined. */
export function pickInstance<T extends InstanceView>(instances: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const i of instances) {
    if (i.state !== 'ready') continue;
    if (!best || i.inflight < best.inflight) best = i;
  }
  return best;
}

/** True while at least one instance can run (the model is served). */
export function serving(instances: readonly InstanceView[]): boolean {
  return instances.some((i) => i.state === 'ready');
}

/** Delay before the next attempt to replace a broken instance, after `failures` failed attempts in a row. */
export function restartDelayMs(failures: number): number {
  return failures <= 0 ? 0 : Math.min(30_000, 500 * 2 ** (failures - 1));
}

/**
 * A run lost with its session thread (it died, or was ended for outliving the run timeout).
 * Retryable: the runner lets BullMQ retry the job instead of failing it for good. The message
 * is a typed job error, so a job that exhausts its attempts this way reads as inference-failed.
 */
export class SessionLostError extends Error {
  constructor(readonly reason: string) {
    super(encodeJobError({ type: 'inference-failed', message: `session lost: ${reason}` }));
    this.name = 'SessionLostError';
  }
}
