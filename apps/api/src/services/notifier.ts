/**
 * JobNotifier: wakes requests waiting for a job (`?wait`, `Prefer: wait`, v2 infer).
 *
 * One Redis subscription per API process, on which workers announce finished jobs, BullMQ's
 * own completion events (completion-events.ts, usually the first to arrive), and a map of
 * job id → waiters. (A BullMQ `waitUntilFinished` per request would open a listener
 * per request, which collapses under load.) Pub/sub can drop a message during a reconnect,
 * so a waiter never trusts it alone: it re-reads the job when woken and when its time is up,
 * and the caller checks the job once after subscribing, before the first wait.
 */
import type { Redis } from 'ioredis';
import { JOB_EVENTS_CHANNEL, parseJobEvents, type InferenceJobResult, type Logger, type SettledRecord } from '@maas/shared';
import type { CacheSize } from '../metrics.js';
import type { StopSignal } from './stop-signal.js';

/** How long an event is remembered for a waiter that registers just after it arrived. */
const RECENT_MS = 10_000;
const RECENT_MAX = 50_000;
/** Settled records kept for waiters (each at most INLINE_RESULT_BYTES of outputs; see the worker's job-announcer.ts). */
const SETTLED_MS = 2_000;
const SETTLED_MAX = 2_000;
/** The largest result (JSON characters) kept from a completion event, as for an announcement's settled record. */
const RESULT_TEXT_MAX = 64 * 1024;

/**
 * Drops the oldest entries of an insertion-ordered map until it holds at most `max` and its
 * oldest entry is still `fresh`.
 */
function dropOldest<V>(map: Map<string, V>, max: number, fresh: (v: V) => boolean): void {
  for (const [key, v] of map) {
    if (map.size <= max && fresh(v)) break;
    map.delete(key);
  }
}

export class JobNotifier {
  private readonly waiters = new Map<string, Set<() => void>>();
  /** waiters now (`listen`s not yet ended) */
  private held = 0;
  /** job id → when its last event arrived (insertion-ordered, so pruning starts at the oldest) */
  private readonly recent = new Map<string, number>();
  /** job id → the settled record a worker announced with it, briefly (see `settled`) */
  private readonly settledRecords = new Map<string, { at: number; tenant: string; record: SettledRecord }>();
  /** job id → the result BullMQ's completion event carried (JSON text until asked for), briefly */
  private readonly results = new Map<string, { at: number; text: string; parsed?: InferenceJobResult }>();

  private constructor(private readonly subscriber: Redis) {}

  static async start(subscriber: Redis, log: Logger): Promise<JobNotifier> {
    const n = new JobNotifier(subscriber);
    subscriber.on('message', (_channel: string, message: string) => {
      try {
        for (const m of parseJobEvents(message)) {
          if (m.settled && m.tenant !== undefined) n.keepSettled(m.id, m.tenant, m.settled);
          n.wake(m.id);
        }
      } catch (err) {
        log.warn({ err }, 'bad job event');
      }
    });
    await subscriber.subscribe(JOB_EVENTS_CHANNEL);
    // Connected again (ioredis subscribes again as it does): what was announced meanwhile is
    // lost, and a Redis that came back empty (restarted without persistence) holds none of the
    // jobs waited for. Every waiter reads its job again now: a job gone is a 404 at once, not
    // at the end of its wait.
    subscriber.on('ready', () => n.wakeEveryone());
    return n;
  }

  /** True when an event for `id` arrived in the last few seconds. */
  heard(id: string): boolean {
    const at = this.recent.get(id);
    return at !== undefined && Date.now() - at < RECENT_MS;
  }

  private remember(id: string): void {
    const now = Date.now();
    this.recent.delete(id);
    this.recent.set(id, now);
    dropOldest(this.recent, RECENT_MAX, (at) => now - at < RECENT_MS);
  }

  /**
   * The settled record of a job that succeeded moments ago, if its worker announced it with
   * one and `tenant` owns it: a waiter answers from it without reading the job back.
   */
  settled(id: string, tenant: string): SettledRecord | undefined {
    const s = this.settledRecords.get(id);
    return s && s.tenant === tenant && Date.now() - s.at < SETTLED_MS ? s.record : undefined;
  }

  private keepSettled(id: string, tenant: string, record: SettledRecord): void {
    const now = Date.now();
    this.settledRecords.set(id, { at: now, tenant, record });
    dropOldest(this.settledRecords, SETTLED_MAX, (s) => now - s.at < SETTLED_MS);
  }


  /**
   * BullMQ stored job `id` with `returnvalue` (its completion event): kept briefly (up to
   * RESULT_TEXT_MAX characters; a larger one is read back by its waiter), and its waiters woken.
   */
  completed(id: string, returnvalue: string): void {
    if (returnvalue.length <= RESULT_TEXT_MAX) {
      const now = Date.now();
      this.results.set(id, { at: now, text: returnvalue });
      dropOldest(this.results, SETTLED_MAX, (r) => now - r.at < SETTLED_MS);
    }
    this.wake(id);
  }

  /** The stored result of a job that completed moments ago, if its completion event was heard. */
  result(id: string): InferenceJobResult | undefined {
    const r = this.results.get(id);
    if (!r || Date.now() - r.at >= SETTLED_MS) return undefined;
    try {
      r.parsed ??= JSON.parse(r.text) as InferenceJobResult;
    } catch {
      return undefined; // not ours to read: the waiter reads the job instead
    }
    return r.parsed;
  }

  /** Wakes this process's waiters of `id` (also called for BullMQ's completion events: completion-events.ts). */
  wake(id: string): void {
    this.remember(id);
    const set = this.waiters.get(id);
    if (!set) return;
    this.waiters.delete(id);
    for (const w of set) w();
  }

  /** Resolves on the next event for `id`, after `ms`, or when `signal` aborts — whichever is first. */
  next(id: string, ms: number, signal?: StopSignal): Promise<void> {
    return this.listen(id, ms, signal).woken;
  }

  /**
   * As `next`, for the next event of any of `ids` (a member's and its carrier's: one waiter,
   * counted once), with `dispose()` to stop waiting early without waking anyone else.
   */
  listen(ids: string | readonly string[], ms: number, signal?: StopSignal): { woken: Promise<void>; dispose(): void } {
    const keys = typeof ids === 'string' ? [ids] : ids;
    let dispose!: () => void;
    const woken = new Promise<void>((resolve) => {
      let ended = false;
      const done = () => {
        if (ended) return;
        ended = true;
        this.held--;
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        for (const id of keys) {
          const set = this.waiters.get(id);
          if (!set) continue;
          set.delete(done);
          if (set.size === 0) this.waiters.delete(id);
        }
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      for (const id of keys) {
        let set = this.waiters.get(id);
        if (!set) this.waiters.set(id, (set = new Set()));
        set.add(done);
      }
      this.held++;
      dispose = done;
    });
    return { woken, dispose };
  }

  /** Lets go of events and records past their windows (each is also pruned as the next arrives; main.ts calls this on a timer, so an idle process does). */
  prune(): void {
    const now = Date.now();
    dropOldest(this.recent, RECENT_MAX, (at) => now - at < RECENT_MS);
    dropOldest(this.settledRecords, SETTLED_MAX, (s) => now - s.at < SETTLED_MS);
    dropOldest(this.results, SETTLED_MAX, (r) => now - r.at < SETTLED_MS);
  }

  /** What the event, record and result windows hold now (metrics; a result's bytes are its JSON text's characters). */
  get cacheSizes(): CacheSize[] {
    let resultChars = 0;
    for (const r of this.results.values()) resultChars += r.text.length;
    return [
      { cache: 'job_events', entries: this.recent.size },
      { cache: 'settled_records', entries: this.settledRecords.size },
      { cache: 'completion_results', entries: this.results.size, bytes: resultChars },
    ];
  }

  /** Requests this process holds waiting (one a `listen`, however many ids it watches). */
  get waiting(): number {
    return this.held;
  }

  /** Wakes every waiter of this process (each reads its job again). */
  wakeEveryone(): void {
    for (const id of [...this.waiters.keys()]) this.wake(id);
  }

  async close(): Promise<void> {
    this.wakeEveryone();
    this.subscriber.disconnect();
  }
}
