/**
 * RenderPool: threads that turn a finished chunk into its NDJSON result lines.
 *
 * Writing result lines is the API's largest cost in a download (the numbers' text, about
 * 2.5 µs a line of two outputs), and on the main thread it used one core while the others
 * waited and held up every other request meanwhile. Here chunks are rendered by up to
 * `size` threads at once (one per core by default, at most four); the download reads and
 * writes in input order (services/batches.ts), with a few chunks rendered ahead.
 *
 * A thread that fails or exits fails the chunks it held (the download then ends early, as a
 * download does when Redis fails mid-way) and is replaced on the next chunk. Threads are
 * started on the first download and never keep the process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** One chunk as stored: its line list (chunk-lines.ts), outcome marker and output record. */
export interface RenderRequest {
  id: number;
  lines: string | null;
  marker: string | null;
  outputs: Uint8Array | null;
}

export type RenderReply = { id: number; pieces: Uint8Array[] } | { id: number; error: string };

interface Pending {
  resolve: (pieces: Uint8Array[]) => void;
  reject: (err: Error) => void;
}

interface RenderThread {
  worker: Worker;
  pending: Map<number, Pending>;
}

export const defaultRenderThreads = (): number => Math.max(1, Math.min(4, availableParallelism()));

export class RenderPool {
  private readonly threads: RenderThread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size = defaultRenderThreads(),
    /** the thread's entry point (tests running the TypeScript sources pass the built one) */
    private readonly entry: URL = new URL('./render-thread.js', import.meta.url),
  ) {}

  /** The chunk's result lines (NDJSON bytes, in pieces), rendered on the least busy thread. */
  render(chunk: Omit<RenderRequest, 'id'>): Promise<Uint8Array[]> {
    if (this.closed) return Promise.reject(new Error('render pool closed'));
    const thread = this.pick();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ id, ...chunk } satisfies RenderRequest);
    });
  }

  /** Stops the threads; chunks still rendering fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.splice(0).map((t) => t.worker.terminate()));
  }

  private pick(): RenderThread {
    let best: RenderThread | undefined;
    for (const t of this.threads) if (!best || t.pending.size < best.pending.size) best = t;
    if (best && (best.pending.size === 0 || this.threads.length >= this.size)) return best;
    return this.start();
  }

  private start(): RenderThread {
    const worker = new Worker(this.entry);
    worker.unref();
    const thread: RenderThread = { worker, pending: new Map() };
    const lost = (err: Error) => {
      const at = this.threads.indexOf(thread);
      if (at >= 0) this.threads.splice(at, 1);
      for (const p of thread.pending.values()) p.reject(err);
      thread.pending.clear();
    };
    worker.on('message', (reply: RenderReply) => {
      const p = thread.pending.get(reply.id);
      if (!p) return;
      thread.pending.delete(reply.id);
      if ('error' in reply) p.reject(new Error(`rendering a chunk's results failed: ${reply.error}`));
      else p.resolve(reply.pieces);
    });
    worker.on('error', (err) => lost(err));
    worker.on('exit', (code) => lost(new Error(`a result-rendering thread exited (${code})`)));
    this.threads.push(thread);
    return thread;
  }
}
