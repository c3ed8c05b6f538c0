/**
 * PURE: whether a worker is live and whether it is ready, from what it knows of itself, for the
 * probes of its health port (health/server.ts; Kubernetes' livenessProbe and readinessProbe).
 *
 * Live: the process answers (a frozen event loop answers nothing, and the probe's timeout says
 * so) and no session thread is wedged. A wedged thread (its run past WORKER_RUN_TIMEOUT_MS) has
 * been replaced and its jobs retried, but its native run cannot be stopped and keeps a core
 * until it returns: only a restart of the process frees it sooner. A worker whose Redis is
 * unreachable is still live: a restart would not bring Redis back.
 *
 * Ready: started (models loaded, fetching), not stopping, its liveness beat renewed within
 * WORKER_ALIVE_TTL_MS (else the other workers take it for dead and release its jobs: it is cut
 * off from Redis), it serves at least one model version (a GPU worker whose every model failed
 * to load for want of CUDA did nothing while it read ready), and every version it runs has a
 * session thread that can run.
 */

export type Phase = 'starting' | 'running' | 'stopping';

export interface WorkerState {
  phase: Phase;
  /** ms since the liveness beat was last renewed (undefined: never) */
  beatAgeMs: number | undefined;
  /** why the last beat failed, when it did (`out-of-memory`, `read-only`, `unreachable`, …): the reason readiness gives */
  beatFailure?: string | undefined;
  aliveTtlMs: number;
  /** the versions it runs (`model:version`), with their wedged threads and whether a thread can run */
  versions: { tag: string; wedgedThreads: number; serving: boolean }[];
}

export interface Verdict {
  ok: boolean;
  /** why not, one line each */
  reasons: string[];
}

const verdict = (reasons: string[]): Verdict => ({ ok: reasons.length === 0, reasons });

export function liveness(s: WorkerState): Verdict {
  return verdict(s.versions.filter((v) => v.wedgedThreads > 0).map((v) =>
    `${v.tag}: ${v.wedgedThreads} session thread${v.wedgedThreads > 1 ? 's' : ''} stuck in a run past WORKER_RUN_TIMEOUT_MS (replaced; only a restart frees the core)`));
}

/**
 * Started: past loading its models (running, or already stopping). The startup probe's: readiness
 * would never pass for a worker that serves no model, and the kubelet would restart it without end.
 */
export function started(s: WorkerState): Verdict {
  return verdict(s.phase === 'starting' ? ['starting: loading models'] : []);
}

/** How readiness names Redis's state from why the last beat failed (unknown: unreachable, as a beat never answered). */
function redisProblem(failure: string | undefined): string {
  if (failure === 'out-of-memory') return 'Redis out of memory (refusing writes)';
  if (failure === 'read-only' || failure === 'refusing-writes') return `Redis refusing writes (${failure})`;
  return 'Redis unreachable';
}

export function readiness(s: WorkerState): Verdict {
  const reasons: string[] = [];
  if (s.phase === 'starting') reasons.push('starting: loading models');
  if (s.phase === 'stopping') reasons.push('stopping: finishing the jobs it holds');
  if (s.phase === 'running') {
    if (s.beatAgeMs === undefined || s.beatAgeMs > s.aliveTtlMs) {
      reasons.push(`${redisProblem(s.beatFailure)}: liveness beat last renewed ${s.beatAgeMs === undefined ? 'never' : `${Math.round(s.beatAgeMs)} ms ago`} (WORKER_ALIVE_TTL_MS ${s.aliveTtlMs})`);
    }
    if (s.versions.length === 0) reasons.push('serves no model: none in the repository, every one unloaded, or none could be loaded (its log says why)');
    for (const v of s.versions) if (!v.serving) reasons.push(`${v.tag}: no session thread can run (a replacement is loading)`);
  }
  return verdict(reasons);
}
