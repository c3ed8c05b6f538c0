/** Messages between the worker's main thread and its session threads. */
import type { Datatype, WarmupRun } from '@maas/shared';
import type { WarmupOutcome } from './warm-up.js';

export interface SessionInit {
  path: string;
  /** execution providers to try, in order; the first that loads wins */
  providers: string[];
  intraOpNumThreads: number;
  /** let onnxruntime's idle threads spin between runs (lower latency, but they burn a core) */
  spinning: boolean;
  /** set on a thread that replaces a lost one (the test hook below skips those) */
  replacement?: boolean;
  /**
   * TEST HOOK (e2e only; WORKER_TEST_SESSION_EXIT_ON_RUN): the first threads of each pool exit
   * abruptly when their n-th run arrives, as a native crash would, so the suites can check that
   * a lost thread is replaced and its jobs retried. Replacements ignore it.
   */
  exitOnRun?: number;
  /** runs of zeros made once the session loads, before it reports ready (shared models/warmup.ts) */
  warmup: WarmupRun[];
}

/** A tensor crossing the thread boundary: numeric bytes travel in a transferred ArrayBuffer. */
export interface WireTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  bytes?: ArrayBuffer;
  strings?: string[];
}

export type ToThread =
  | { kind: 'init'; init: SessionInit }
  | { kind: 'run'; id: number; feeds: WireTensor[] }
  | { kind: 'close' };

export type FromThread =
  | { kind: 'ready'; provider: string; fallbackReason?: string; warmup: WarmupOutcome }
  | { kind: 'init-failed'; message: string }
  /** `spent`: the run's feed buffers, sent back once the run is over, for the next runs' copies */
  | { kind: 'result'; id: number; outputs: WireTensor[]; ms: number; spent: ArrayBuffer[] }
  /** `rejected`: onnxruntime refused the feeds' values (run-rejected.ts); else the session's or the outputs' fault */
  | { kind: 'run-failed'; id: number; message: string; rejected?: boolean }
  | { kind: 'closed' };
