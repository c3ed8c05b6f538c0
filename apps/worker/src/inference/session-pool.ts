/**
 * SessionPool: the main thread's handle on the session threads of one model version.
 *
 * Each instance is a worker thread with its own InferenceSession (memory × instances), so
 * `instances` runs can compute at once while the main thread keeps talking to Redis.
 * Feeds cross as copies in transferred ArrayBuffers; results come back transferred. A feed's
 * bytes are copied into a block of `feedBlocks`, which the thread sends back with the result
 * for the next run's copy: new memory for every run (25 MB of it a 200,000-row file) had V8
 * collecting for its pressure. A feed's own buffer is never handed over, even when it is
 * whole: it may be a job's input, which a failed run's isolation runs again from
 * (failed-runs.ts), and a transferred buffer is gone from this thread.
 *
 * Instances heal (states in instance-health.ts): a thread that exits or errors, or whose run
 * outlives `runTimeoutMs` (wedged: asked to close once its run returns), is marked broken;
 * its in-flight runs fail at once with a retryable SessionLostError (the runner lets BullMQ
 * retry those jobs), and a new thread loading the same model takes its slot (backing off
 * while loads fail). `run()` only picks a ready instance; with none, it waits for a
 * replacement (up to the run timeout, at least 30 s), then fails retryably. `serving` is false
 * while no instance is ready, and `onServingChange` tells the worker's heartbeat, so the model
 * reads not ready meanwhile. A run's timer is also the backstop for a death no event reported.
 *
 * Runs predicted to take at most `inline.maxMs` (RunCost, learnt from the runs so far; set by `runShortOnes`) go to
 * an InlineSession on the main thread instead, when the pool has one: for a small model under
 * light load, the two thread hand-offs cost more than the run itself.
 */
import { Worker } from 'node:worker_threads';
import { BlockPool, type Logger, type RawTensor } from '@maas/shared';
import type { InlineSession } from './inline-session.js';
import { RunRejectedError } from './run-rejected.js';
import { pickInstance, restartDelayMs, serving, SessionLostError, type InstanceState } from './instance-health.js';
import type { FromThread, SessionInit, ToThread, WireTensor } from './protocol.js';
import { RunCost } from './run-cost.js';
import type { WarmupOutcome } from './warm-up.js';

export interface RunResult {
  outputs: RawTensor[];
  ms: number;
}

interface Waiter {
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
}

interface Instance {
  thread: Worker;
  state: InstanceState;
  inflight: Map<number, Waiter>;
  /** settles when the last run handed to this thread has ended (runs go one at a time) */
  tail: Promise<void>;
}

export interface PoolOptions {
  /** a run longer than this breaks its thread (wedged): the run fails retryably, the thread is replaced */
  runTimeoutMs: number;
  log?: Logger;
  /** a thread was lost (metrics) */
  onLost?: (reason: string) => void;
}

/** How long a thread asked to close may take before it is terminated. */
const CLOSE_GRACE_MS = 5000;
/** A run waits for a replacement thread (loading its model) at least this long, whatever the run timeout. */
const REPLACEMENT_WAIT_MS = 30_000;

const THREAD_ENTRY = new URL('./session-thread.js', import.meta.url);

/** Bytes of fed memory kept for the next runs' copies (a few full runs' worth of a chunk, and more). */
const FEED_POOL_BYTES = 16 << 20;

/** A feed as the thread gets it: its bytes copied into a block used again (see the top), transferred. */
function toWire(t: RawTensor, blocks: BlockPool): { wire: WireTensor; transfer: ArrayBuffer[] } {
  if (Array.isArray(t.data)) return { wire: { name: t.name, datatype: t.datatype, shape: t.shape, strings: t.data }, transfer: [] };
  const bytes = blocks.take(t.data.byteLength);
  new Uint8Array(bytes).set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return { wire: { name: t.name, datatype: t.datatype, shape: t.shape, bytes }, transfer: [bytes] };
}

function fromWire(w: WireTensor): RawTensor {
  return { name: w.name, datatype: w.datatype, shape: w.shape, data: w.strings ?? new Uint8Array(w.bytes ?? new ArrayBuffer(0)) };
}

export class SessionPool {
  private nextId = 1;
  private closed = false;
  private readonly cost = new RunCost();
  /** memory for the copies of fed slices, sent back by the threads (see the top) */
  private readonly feedBlocks = new BlockPool(FEED_POOL_BYTES);
  private inline: { session: InlineSession; maxMs: number } | undefined;
  /** run() calls waiting for a ready instance */
  private readonly awaitingReady = new Set<() => void>();
  private readonly servingListeners: ((serving: boolean) => void)[] = [];
  private wasServing = true;
  /** runs done on the main thread (metrics, tests) */
  inlineRuns = 0;
  /** threads replaced after dying or wedging (metrics, tests) */
  replacements = 0;
  /** wedged threads still in their run (replaced, but each keeps a core until its run returns) */
  private readonly stuck = new Set<Worker>();
  private constructor(
    private readonly instances: Instance[],
    private readonly init: SessionInit,
    private readonly options: PoolOptions,
    /** the execution provider the sessions loaded with */
    readonly provider: string,
    readonly fallbackReason: string | undefined,
    /** how the threads' warm-up went: the first failure if one had one, else the first thread's (each warms its own session, replacements too) */
    readonly warmup: WarmupOutcome,
  ) {
    for (const i of instances) this.watch(i);
  }

  /** Starts `count` threads and loads the model in each; rejects if any cannot load it. */
  static async open(init: SessionInit, count: number, options: PoolOptions = { runTimeoutMs: 60_000 }): Promise<SessionPool> {
    const started = await Promise.allSettled(Array.from({ length: count }, () => SessionPool.startThread(init)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (failed) {
      await Promise.all(ok.map((o) => o.instance.thread.terminate()));
      throw failed.reason as Error;
    }
    // One outcome is reported: the first failure if a thread had one (each warms the same runs).
    const warmup = ok.find((o) => o.warmup.failure)?.warmup ?? ok[0]!.warmup;
    return new SessionPool(ok.map((o) => o.instance), init, options, ok[0]!.provider, ok[0]!.fallbackReason, warmup);
  }

  /** Starts one thread and loads the model; resolves once it is ready (its death is watched after that). */
  private static startThread(init: SessionInit): Promise<{ instance: Instance; provider: string; fallbackReason?: string; warmup: WarmupOutcome }> {
    return new Promise((resolve, reject) => {
      const thread = new Worker(THREAD_ENTRY);
      const instance: Instance = { thread, state: 'loading', inflight: new Map(), tail: Promise.resolve() };
      const onInit = (msg: FromThread) => {
        if (msg.kind === 'ready') {
          detach();
          instance.state = 'ready';
          resolve({ instance, provider: msg.provider, warmup: msg.warmup, ...(msg.fallbackReason ? { fallbackReason: msg.fallbackReason } : {}) });
        } else if (msg.kind === 'init-failed') {
          detach();
          void thread.terminate();
          reject(new Error(`cannot load ${init.path}: ${msg.message}`));
        }
      };
      const onError = (err: Error) => {
        detach();
        reject(err);
      };
      const onExit = (code: number) => {
        detach();
        reject(new Error(`session thread exited with code ${code} while loading ${init.path}`));
      };
      const detach = () => {
        thread.off('message', onInit);
        thread.off('error', onError);
        thread.off('exit', onExit);
      };
      thread.on('message', onInit);
      thread.on('error', onError);
      thread.on('exit', onExit);
      thread.postMessage({ kind: 'init', init } satisfies ToThread);
    });
  }

  /** Routes a ready instance's answers, and breaks it when its thread dies. */
  private watch(instance: Instance): void {
    instance.thread.on('message', (m: FromThread) => this.onMessage(instance, m));
    instance.thread.on('error', (err) => this.break(instance, `session thread failed: ${err.message}`));
    instance.thread.on('exit', (code) => this.break(instance, `session thread exited with code ${code}`));
  }

  private onMessage(instance: Instance, msg: FromThread): void {
    if (msg.kind !== 'result' && msg.kind !== 'run-failed') return;
    if (msg.kind === 'result') for (const b of msg.spent) this.feedBlocks.adopt(b);
    const waiter = instance.inflight.get(msg.id);
    if (!waiter) return;
    instance.inflight.delete(msg.id);
    if (msg.kind === 'result') waiter.resolve({ outputs: msg.outputs.map(fromWire), ms: msg.ms });
    else waiter.reject(msg.rejected ? new RunRejectedError(msg.message) : new Error(msg.message));
  }

  /**
   * Takes `instance` out of service: fails its in-flight runs (retryably) and starts a
   * replacement in its slot. A wedged thread (`alive`) is asked to close after its run instead
   * of being terminated: Worker.terminate() during a native onnxruntime run aborts the whole
   * process ("terminate called after throwing an instance of 'Napi::Error'", seen in
   * test/session-pool.int.test.ts). So its run keeps a core until it returns, but nothing waits
   * on it any more.
   */
  private break(instance: Instance, reason: string, alive = false): void {
    if (instance.state === 'broken') return;
    instance.state = 'broken';
    const err = new SessionLostError(reason);
    for (const w of instance.inflight.values()) w.reject(err);
    instance.inflight.clear();
    if (this.closed) return;
    instance.thread.removeAllListeners('message');
    if (alive) {
      instance.thread.postMessage({ kind: 'close' } satisfies ToThread);
      this.stuck.add(instance.thread);
      instance.thread.once('exit', () => this.stuck.delete(instance.thread));
    } else {
      void instance.thread.terminate().catch(() => {});
    }
    this.options.log?.error({ reason, path: this.init.path }, 'session thread lost; replacing it');
    this.options.onLost?.(reason);
    this.servingChanged();
    void this.replace(instance, 0);
  }

  private async replace(broken: Instance, failures: number): Promise<void> {
    await new Promise((r) => setTimeout(r, restartDelayMs(failures)));
    if (this.closed) return;
    try {
      const { instance, warmup } = await SessionPool.startThread({ ...this.init, replacement: true });
      if (warmup.failure) this.options.log?.warn({ path: this.init.path, reason: warmup.failure }, 'warm-up run failed on a replacement session thread; serving anyway');
      if (this.closed) {
        void instance.thread.terminate();
        return;
      }
      this.instances[this.instances.indexOf(broken)] = instance;
      this.watch(instance);
      this.replacements++;
      this.options.log?.info({ path: this.init.path }, 'session thread replaced');
      this.servingChanged();
      for (const wake of this.awaitingReady) wake();
    } catch (err) {
      this.options.log?.error({ err, path: this.init.path, failures: failures + 1 }, 'could not replace a session thread; retrying');
      await this.replace(broken, failures + 1);
    }
  }

  private servingChanged(): void {
    const now = serving(this.instanceViews());
    if (now === this.wasServing) return;
    this.wasServing = now;
    for (const l of this.servingListeners) l(now);
  }

  private instanceViews() {
    return this.instances.map((i) => ({ instance: i, state: i.state, inflight: i.inflight.size }));
  }

  /**
   * Wedged threads whose run has not returned yet: each keeps a core busy, and only its run's end
   * or the process's stops it (the worker's liveness reports them: health/verdicts.ts).
   */
  get wedgedThreads(): number {
    return this.stuck.size;
  }

  get size(): number {
    return this.instances.length;
  }

  /** True while at least one session thread can run (false from a loss until its replacement loads). */
  get serving(): boolean {
    return serving(this.instanceViews());
  }

  /** Calls `listener` whenever `serving` flips. */
  onServingChange(listener: (serving: boolean) => void): void {
    this.servingListeners.push(listener);
  }

  /** Lets runs predicted to take at most `maxMs` run on `session`, on the main thread. */
  runShortOnes(session: InlineSession, maxMs: number): void {
    this.inline = { session, maxMs };
  }

  /** Bytes of fed memory back from the threads, waiting for the next copies (what the tests look at). */
  get spareFeedBytes(): number {
    return this.feedBlocks.idleBytes;
  }

  /** The lowest bound RunCost has for a run of `rows` rows, in ms (Infinity until it has seen a few runs). */
  predictMs(rows: number): number {
    return this.cost.predict(rows);
  }

  /** Whether a run of `rows` rows would go to the main thread's session now (predicted under its bound). */
  runsInline(rows: number): boolean {
    return this.inline !== undefined && this.cost.predict(rows) <= this.inline.maxMs;
  }

  /**
   * Executes one run on the instance with the fewest runs in flight: a free one, or (a full run
   * the collector hands out ahead, see Collector `fullAhead`) a busy one, whose thread starts it
   * as soon as its current run ends.
   */
  async run(feeds: RawTensor[]): Promise<RunResult> {
    if (this.closed) throw new Error('session pool closed');
    const rows = feeds[0]?.shape[0] ?? 1;
    if (this.inline && this.runsInline(rows)) {
      const result = await this.inline.session.run(feeds);
      this.inlineRuns++;
      this.cost.observe(rows, result.ms);
      return result;
    }
    const result = await this.runOnThread(feeds, await this.readyInstance());
    this.cost.observe(rows, result.ms);
    return result;
  }

  /** A ready instance; while none is, waits for a replacement (bounded), then fails retryably. */
  private async readyInstance(): Promise<Instance> {
    const deadline = Date.now() + Math.max(this.options.runTimeoutMs, REPLACEMENT_WAIT_MS);
    for (;;) {
      const picked = pickInstance(this.instanceViews())?.instance;
      if (picked) return picked;
      if (this.closed) throw new SessionLostError('the pool closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new SessionLostError('no session thread came back in time');
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.awaitingReady.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.awaitingReady.add(wake);
      });
    }
  }

  private runOnThread(feeds: RawTensor[], instance: Instance): Promise<RunResult> {
    const id = this.nextId++;
    const wires = feeds.map((f) => toWire(f, this.feedBlocks));
    const ahead = instance.tail;
    const run = new Promise<RunResult>((resolve, reject) => {
      // The run's clock starts when it does: once the runs queued ahead of it on the thread ended.
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      void ahead.then(() => {
        if (!settled) timer = setTimeout(() => this.break(instance, `a run took longer than ${this.options.runTimeoutMs} ms`, true), this.options.runTimeoutMs);
      });
      const done = () => {
        settled = true;
        clearTimeout(timer);
      };
      instance.inflight.set(id, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
      instance.thread.postMessage({ kind: 'run', id, feeds: wires.map((w) => w.wire) } satisfies ToThread, wires.flatMap((w) => w.transfer));
    });
    instance.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /**
   * Releases the sessions and ends the threads (after in-flight runs, which the runner drains
   * first). Bounded: a thread that does not close within CLOSE_GRACE_MS is terminated; a wedged
   * one (broken, still in its run) is waited for as long, then left behind.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of this.awaitingReady) wake();
    await this.inline?.session.release().catch(() => {});
    await Promise.all(
      this.instances.map(
        (i) =>
          new Promise<void>((resolve) => {
            if (i.state === 'broken') {
              // A wedged thread was asked to close after its run: give it the grace period, since
              // exiting the process during a native run aborts it (exit 134 instead of 0).
              if (i.thread.threadId < 0) return resolve();
              const timer = setTimeout(resolve, CLOSE_GRACE_MS);
              i.thread.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              return;
            }
            const timer = setTimeout(() => {
              void i.thread.terminate().catch(() => {});
              setTimeout(resolve, CLOSE_GRACE_MS).unref();
            }, CLOSE_GRACE_MS);
            i.thread.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            i.thread.postMessage({ kind: 'close' } satisfies ToThread);
          }),
      ),
    );
  }
}
