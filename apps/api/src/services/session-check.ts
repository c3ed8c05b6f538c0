/**
 * The API's check of a model version before it is served, at start-up and when one is found
 * on disk later: an onnxruntime session is created from the file (in a thread, on the CPU,
 * ended once idle) and its input and output names must be those the metadata read gave. A file that
 * parses as ONNX but that onnxruntime refuses (an unknown operator, a truncated weight) is
 * caught here, so the API never routes requests to a version no worker could run. Workers make
 * their own check when they open the version (a provider of theirs may still fail: they keep
 * serving the previous version, see the worker's live-models.ts).
 */
import { Worker } from 'node:worker_threads';
import type { ModelVersion } from '@maas/shared';
import { slots } from '../http/compressed-body.js';

export type SessionCheckReply = { ok: true; inputs: string[]; outputs: string[] } | { ok: false; message: string };

/** PURE: why a session's names disagree with the metadata read, or undefined when they agree. */
export function namesMismatch(version: Pick<ModelVersion, 'inputs' | 'outputs'>, reply: { inputs: string[]; outputs: string[] }): string | undefined {
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const inputs = version.inputs.map((t) => t.name);
  const outputs = version.outputs.map((t) => t.name);
  if (!same(inputs, reply.inputs)) return `onnxruntime sees inputs [${reply.inputs.join(', ')}], the metadata [${inputs.join(', ')}]`;
  if (!same(outputs, reply.outputs)) return `onnxruntime sees outputs [${reply.outputs.join(', ')}], the metadata [${outputs.join(', ')}]`;
  return undefined;
}

/**
 * A session-check thread, reused for one check after another (starting a thread and loading
 * onnxruntime in it is most of a check's time: ~140 ms, a small model's session ~5 ms). A
 * thread that fails, exits or times out is ended and not used again (`usable`).
 */
export class CheckThread {
  private readonly thread = new Worker(new URL('./session-check-thread.js', import.meta.url));
  usable = true;

  constructor() {
    this.thread.unref();
  }

  /** Resolves when an onnxruntime session can be created from `version`; rejects with the reason. */
  async check(version: ModelVersion, timeoutMs = 120_000): Promise<void> {
    if (!this.usable) throw new Error('session check thread ended');
    const reply = await new Promise<SessionCheckReply>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.thread.off('message', onMessage).off('error', fail).off('exit', onExit);
      };
      const onMessage = (m: SessionCheckReply) => (done(), resolve(m));
      const fail = (err: Error) => {
        done();
        void this.close();
        reject(err);
      };
      const onExit = (code: number) => fail(new Error(`session check thread exited (${code})`));
      const timer = setTimeout(() => fail(new Error(`onnxruntime session not created within ${timeoutMs} ms`)), timeoutMs);
      this.thread.on('message', onMessage).on('error', fail).on('exit', onExit);
      this.thread.postMessage(version.path);
    });
    if (!reply.ok) throw new Error(`onnxruntime session cannot be created: ${reply.message}`);
    const mismatch = namesMismatch(version, reply);
    if (mismatch) throw new Error(mismatch);
  }

  async close(): Promise<void> {
    this.usable = false;
    await this.thread.terminate();
  }
}

/** A check thread left idle this long is ended (so the API holds none between changes). */
const IDLE_THREAD_MS = 1000;

/**
 * Session checks by model file: one per file and stamp (size, mtime, inode: a rewritten file
 * is checked again), its outcome kept; one at a time, in one thread kept while checks follow
 * each other (at start-up, every served version's: the shipped models' four take ~0.1 s so,
 * ~0.45 s with a thread each, and more threads at once were slower still on two cores).
 */
export class SessionChecks {
  private readonly outcomes = new Map<string, { stamp: string; done: Promise<void>; refused?: string }>();
  private readonly slot = slots(1);
  private readonly run: (v: ModelVersion) => Promise<void>;
  private thread: CheckThread | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  /** `run`: the check itself (tests replace it); by default a session created in the check thread. */
  constructor(run?: (v: ModelVersion) => Promise<void>) {
    this.run = run ?? ((v) => this.inThread(v));
  }

  /** Resolves when `v` passed its check (made once for its file's stamp); rejects with the reason it failed. */
  check(v: ModelVersion): Promise<void> {
    const known = this.outcomes.get(v.path);
    if (known?.stamp === v.stamp) return known.done;
    const outcome: { stamp: string; done: Promise<void>; refused?: string } = { stamp: v.stamp, done: Promise.resolve() };
    outcome.done = this.slot().then(async (release) => {
      try {
        await this.run(v);
      } catch (err) {
        outcome.refused = (err as Error).message;
        throw err;
      } finally {
        release();
      }
    });
    outcome.done.catch(() => {}); // its callers see it
    this.outcomes.set(v.path, outcome);
    return outcome.done;
  }

  /** Why `v`'s file (at its stamp) failed its check, if a finished check says so. */
  refusal(v: Pick<ModelVersion, 'path' | 'stamp'>): string | undefined {
    const known = this.outcomes.get(v.path);
    return known?.stamp === v.stamp ? known.refused : undefined;
  }

  private async inThread(v: ModelVersion): Promise<void> {
    clearTimeout(this.idleTimer);
    if (!this.thread?.usable) this.thread = new CheckThread();
    const thread = this.thread;
    try {
      await thread.check(v);
    } finally {
      this.idleTimer = setTimeout(() => {
        if (this.thread === thread) this.thread = undefined;
        void thread.close();
      }, IDLE_THREAD_MS).unref();
    }
  }
}
