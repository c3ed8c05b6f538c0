/**
 * StatsWriter: additions to the statistics hashes (stats.ts) summed in memory and written, one
 * MULTI a hash, at most every FLUSH_MS (and at `close`), never awaited by the caller: statistics
 * must never slow or fail an inference; a failed write is logged and dropped. Readers see the
 * counters this much late. The worker's runs and job endings and the API's response cache hits
 * and misses write through one each.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { STAT } from './stats.js';

/**
 * How long additions are summed before they are written. Once per event-loop turn was one
 * MULTI per ONNX run for a batch-file chunk (then 128 runs of 64 rows): 20 % of the worker's main
 * thread in a 200,000-row `.npy` batch (BENCHMARKS.md).
 */
export const FLUSH_MS = 100;

export class StatsWriter {
  /** counters added since the last flush: key → field → amount */
  private pending = new Map<string, Map<string, number>>();
  /** key → the latest inference time seen since the last flush */
  private last = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  /** Adds `n` to `field` of hash `key`. */
  add(key: string, field: string, n: number): void {
    let fields = this.pending.get(key);
    if (!fields) this.pending.set(key, (fields = new Map()));
    fields.set(field, (fields.get(field) ?? 0) + n);
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Sets the hash's last inference time (ms since the epoch), the latest of the flush's. */
  inferredAt(key: string, at: number): void {
    this.last.set(key, Math.max(at, this.last.get(key) ?? 0));
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const [pending, last] = [this.pending, this.last];
    if (pending.size === 0 && last.size === 0) return Promise.resolve();
    this.pending = new Map();
    this.last = new Map();
    // A MULTI a hash: each model version's hash is in a slot of its own on a Redis Cluster, where
    // one MULTI over two was refused (CROSSSLOT) and the flush's statistics all lost (e2e).
    const writes = [...new Set([...pending.keys(), ...last.keys()])].map((key) => {
      const tx = this.redis.multi();
      for (const [field, n] of pending.get(key) ?? []) tx.hincrby(key, field, n);
      const at = last.get(key);
      if (at !== undefined) tx.hset(key, STAT.lastInference, at);
      return tx.exec();
    });
    return Promise.all(writes).then(() => undefined, (err: unknown) => this.log.warn({ err }, 'statistics not recorded'));
  }

  /** Writes what is summed now (a process stopping). */
  close(): Promise<void> {
    return this.flush();
  }
}
