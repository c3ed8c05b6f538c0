import { describe, expect, it } from 'vitest';
import { liveness, readiness, started, type WorkerState } from './verdicts.js';

const running = (over: Partial<WorkerState> = {}): WorkerState => ({
  phase: 'running', beatAgeMs: 200, aliveTtlMs: 3000, versions: [{ tag: 'mlp:1', wedgedThreads: 0, serving: true }], ...over,
});

describe('liveness', () => {
  it('is live while no session thread is wedged, whatever Redis or the phase', () => {
    expect(liveness(running())).toEqual({ ok: true, reasons: [] });
    expect(liveness(running({ beatAgeMs: 60_000 })).ok).toBe(true);
    expect(liveness(running({ phase: 'starting', beatAgeMs: undefined, versions: [] })).ok).toBe(true);
  });
  it('is not live with a wedged thread still in its run, naming the version', () => {
    const v = liveness(running({ versions: [{ tag: 'mlp:1', wedgedThreads: 0, serving: true }, { tag: 'big:2', wedgedThreads: 2, serving: true }] }));
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(['big:2: 2 session threads stuck in a run past WORKER_RUN_TIMEOUT_MS (replaced; only a restart frees the core)']);
  });
});

describe('readiness', () => {
  it('is ready running, beating within the TTL, every version served', () => {
    expect(readiness(running())).toEqual({ ok: true, reasons: [] });
  });
  it('is not ready starting or stopping', () => {
    expect(readiness(running({ phase: 'starting' })).reasons).toEqual(['starting: loading models']);
    expect(readiness(running({ phase: 'stopping' })).reasons).toEqual(['stopping: finishing the jobs it holds']);
  });
  it('is not ready cut off from Redis (the beat older than the TTL, or never renewed)', () => {
    expect(readiness(running({ beatAgeMs: 3000 })).ok).toBe(true);
    expect(readiness(running({ beatAgeMs: 3001.4 })).reasons).toEqual(['Redis unreachable: liveness beat last renewed 3001 ms ago (WORKER_ALIVE_TTL_MS 3000)']);
    // A Redis that answers but refuses the beat's write is named so (it read "unreachable": an audit).
    expect(readiness(running({ beatAgeMs: 4000, beatFailure: 'out-of-memory' })).reasons).toEqual(['Redis out of memory (refusing writes): liveness beat last renewed 4000 ms ago (WORKER_ALIVE_TTL_MS 3000)']);
    expect(readiness(running({ beatAgeMs: 4000, beatFailure: 'read-only' })).reasons[0]).toMatch(/^Redis refusing writes \(read-only\)/);
    expect(readiness(running({ beatAgeMs: undefined })).reasons[0]).toMatch(/last renewed never/);
  });
  it('is not ready serving no model (a GPU worker whose models all failed to load read ready: audit N)', () => {
    expect(readiness(running({ versions: [] })).reasons).toEqual(['serves no model: none in the repository, every one unloaded, or none could be loaded (its log says why)']);
  });
  it('is not ready while a version has no thread that can run', () => {
    expect(readiness(running({ versions: [{ tag: 'mlp:1', wedgedThreads: 1, serving: false }] })).reasons).toEqual(['mlp:1: no session thread can run (a replacement is loading)']);
  });
});

describe('started', () => {
  it('is started once its models are loaded, serving none or stopping too (the startup probe: readiness would restart a worker with no model without end)', () => {
    expect(started(running({ phase: 'starting' }))).toEqual({ ok: false, reasons: ['starting: loading models'] });
    expect(started(running({ versions: [] })).ok).toBe(true);
    expect(started(running({ phase: 'stopping', beatAgeMs: undefined })).ok).toBe(true);
  });
});
