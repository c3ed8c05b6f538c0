/**
 * SessionPool: the main thread's handle on the session threads of one model version.
 *
 * Each instance is a worker thread with its own InferenceSession (memory × instances), so
 * `instances` batches can compute at once while the main thread keeps talking to Redis.
 * Feeds cross as transferred ArrayBuffers (no copy); results come back the same way.
 * A thread that dies fails its in-flight run (the runner fails those jobs).
 *
 * Runs predicted to take less than `inlineMaxMs` (RunCost, learnt from the runs so far) go to
 * an InlineSession on the main thread instead, when the pool has one: for a small model under
 * light load, the two thread hand-offs cost more than the run itself.
 */
import { Worker } from 'node:worker_threads';
import type { RawTensor } from '@maas/shared';
import type { InlineSession } from './inline-session.js';
import type { FromThread, SessionInit, ToThread, WireTensor } from './protocol.js';
import { RunCost } from './run-cost.js';

export interface RunResult {
  outputs: RawTensor[];
  ms: number;
}

interface Instance {
  thread: Worker;
  busy: boolean;
  inflight: Map<number, { resolve: (r: RunResult) => void; reject: (e: Error) => void }>;
}

const THREAD_ENTRY = new URL('./session-thread.js', import.meta.url);

function toWire(t: RawTensor): { wire: WireTensor; transfer: ArrayBuffer[] } {
  if (Array.isArray(t.data)) return { wire: { name: t.name, datatype: t.datatype, shape: t.shape, strings: t.data }, transfer: [] };
  const whole = t.data.byteOffset === 0 && t.data.byteLength === t.data.buffer.byteLength && t.data.byteLength > 0;
  // Transfer the buffer when the tensor owns it; otherwise (a view into a Buffer pool slab or a
  // job's payload) transfer a private copy.
  const bytes = (whole ? t.data.buffer : t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)) as ArrayBuffer;
  return { wire: { name: t.name, datatype: t.datatype, shape: t.shape, bytes }, transfer: [bytes] };
}

function fromWire(w: WireTensor): RawTensor {
  return { name: w.name, datatype: w.datatype, shape: w.shape, data: w.strings ?? new Uint8Array(w.bytes ?? new ArrayBuffer(0)) };
}

export class SessionPool {
  private nextId = 1;
  private closed = false;
  private readonly cost = new RunCost();
  private inline: { session: InlineSession; maxMs: number } | undefined;
  /** runs done on the main thread (metrics, tests) */
  inlineRuns = 0;
  private constructor(
    private readonly instances: Instance[],
    /** the execution provider the sessions loaded with */
    readonly provider: string,
    readonly fallbackReason: string | undefined,
  ) {}

  /** Starts `count` threads and loads the model in each; rejects if any cannot load it. */
  static async open(init: SessionInit, count: number): Promise<SessionPool> {
    const started = await Promise.allSettled(Array.from({ length: count }, () => SessionPool.startThread(init)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (failed) {
      await Promise.all(ok.map((o) => o.instance.thread.terminate()));
      throw failed.reason as Error;
    }
    return new SessionPool(ok.map((o) => o.instance), ok[0]!.provider, ok[0]!.fallbackReason);
  }

  private static startThread(init: SessionInit): Promise<{ instance: Instance; provider: string; fallbackReason?: string }> {
    return new Promise((resolve, reject) => {
      const thread = new Worker(THREAD_ENTRY);
      const instance: Instance = { thread, busy: false, inflight: new Map() };
      const onInit = (msg: FromThread) => {
        if (msg.kind === 'ready') {
          thread.off('message', onInit);
          thread.on('message', (m: FromThread) => SessionPool.onMessage(instance, m));
          resolve({ instance, provider: msg.provider, ...(msg.fallbackReason ? { fallbackReason: msg.fallbackReason } : {}) });
        } else if (msg.kind === 'init-failed') {
          void thread.terminate();
          reject(new Error(`cannot load ${init.path}: ${msg.message}`));
        }
      };
      thread.on('message', onInit);
      thread.once('error', (err) => {
        reject(err);
        SessionPool.failAll(instance, err);
      });
      thread.once('exit', (code) => SessionPool.failAll(instance, new Error(`session thread exited with code ${code}`)));
      thread.postMessage({ kind: 'init', init } satisfies ToThread);
    });
  }

  private static onMessage(instance: Instance, msg: FromThread): void {
    if (msg.kind !== 'result' && msg.kind !== 'run-failed') return;
    const waiter = instance.inflight.get(msg.id);
    if (!waiter) return;
    instance.inflight.delete(msg.id);
    if (msg.kind === 'result') waiter.resolve({ outputs: msg.outputs.map(fromWire), ms: msg.ms });
    else waiter.reject(new Error(msg.message));
  }

  private static failAll(instance: Instance, err: Error): void {
    for (const w of instance.inflight.values()) w.reject(err);
    instance.inflight.clear();
  }

  get size(): number {
    return this.instances.length;
  }

  /** Lets runs predicted under `maxMs` run on `session`, on the main thread. */
  runShortOnes(session: InlineSession, maxMs: number): void {
    this.inline = { session, maxMs };
  }

  /** Runs one batch on a free instance (the collector never asks for more than `size` at once). */
  async run(feeds: RawTensor[]): Promise<RunResult> {
    if (this.closed) throw new Error('session pool closed');
    const rows = feeds[0]?.shape[0] ?? 1;
    if (this.inline && this.cost.predict(rows) <= this.inline.maxMs) {
      const result = await this.inline.session.run(feeds);
      this.inlineRuns++;
      this.cost.observe(rows, result.ms);
      return result;
    }
    const result = await this.runOnThread(feeds);
    this.cost.observe(rows, result.ms);
    return result;
  }

  private runOnThread(feeds: RawTensor[]): Promise<RunResult> {
    const instance = this.instances.find((i) => !i.busy) ?? this.instances[this.nextId % this.instances.length]!;
    const id = this.nextId++;
    const wires = feeds.map(toWire);
    instance.busy = true;
    return new Promise<RunResult>((resolve, reject) => {
      instance.inflight.set(id, { resolve, reject });
      instance.thread.postMessage({ kind: 'run', id, feeds: wires.map((w) => w.wire) } satisfies ToThread, wires.flatMap((w) => w.transfer));
    }).finally(() => {
      instance.busy = instance.inflight.size > 0;
    });
  }

  /** Releases the sessions and ends the threads (after in-flight runs, which the runner drains first). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inline?.session.release().catch(() => {});
    await Promise.all(
      this.instances.map(
        (i) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void i.thread.terminate().then(() => resolve()), 5000);
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
