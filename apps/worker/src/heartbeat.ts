/**
 * Heartbeat: a worker announces itself in Redis every few seconds (what it serves, on which
 * execution provider) along with its metrics. The API reads it for `/ready`, `/v1/models`
 * and `/metrics`. An entry older than three heartbeats counts as gone. A version whose session
 * threads are all lost (being replaced) is left out of `models` meanwhile (see main.ts), so
 * it reads not ready. Telling a dead worker's jobs apart is liveness/alive-beat.ts's job.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { clusterNow, FORGET_GONE_LUA, WORKER_METRICS_LINGER_MS, WORKERS_GONE_KEY, WORKERS_INFO_KEY, WORKERS_METRICS_KEY, WORKERS_SEEN_KEY, type Logger } from '@maas/shared';
import type { WorkerMetrics } from './metrics.js';
import { RENEW } from './liveness/alive-beat.js';

export interface WorkerDescription {
  id: string;
  host: string;
  pid: number;
  device: string;
  started_at: string;
  /** heartbeat period: readers treat 3 missed beats as death */
  heartbeat_ms: number;
  /** each with what it runs, by content (`modelDigests`), which the API's index compares with its own */
  models: { model: string; version: number; provider: string; digest: string }[];
  /** WORKER_MODELS (`name` or `name:version`; empty: every model): what a load may wait for */
  serves: string[];
  /** the last model change (MODEL_CHANGES_KEY) applied: a load waits for a worker past its own */
  changes_applied: number;
  /** set once it drains (SIGTERM): it applies no more changes, so a load does not wait for it */
  draining?: true;
  /** versions (`model:version`) whose runner it could not open, with why: the API's index shows it */
  refused?: Record<string, string>;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  /** a beat announcing a change is queued (changes made in one turn share it) */
  private announcing = false;

  constructor(
    private readonly redis: Redis,
    private readonly description: WorkerDescription,
    private readonly metrics: WorkerMetrics,
    private readonly log: Logger,
  ) {}

  static describe(id: string, device: string, heartbeatMs: number, models: WorkerDescription['models'], serves: string[] = []): WorkerDescription {
    return { id, host: hostname(), pid: process.pid, device, started_at: new Date(clusterNow()).toISOString(), heartbeat_ms: heartbeatMs, models, serves, changes_applied: 0 };
  }

  async beat(): Promise<void> {
    const { id } = this.description;
    const metrics = JSON.stringify(await this.metrics.registry.getMetricsAsJSON());
    await this.redis
      .multi()
      // At Redis's time, which the API judges it by: a host whose clock is behind (30 s, a
      // clock-skew audit) was read as gone while it ran jobs, and its model as not ready.
      .eval(RENEW, 1, WORKERS_SEEN_KEY, id, 0)
      .hset(WORKERS_INFO_KEY, id, JSON.stringify(this.description))
      .hset(WORKERS_METRICS_KEY, id, metrics)
      .zrem(WORKERS_GONE_KEY, id) // a worker started again under its id is no longer gone
      .eval(FORGET_GONE_LUA, 2, WORKERS_GONE_KEY, WORKERS_METRICS_KEY, WORKER_METRICS_LINGER_MS) // others gone long enough: forgotten, scraped or not
      .exec();
  }

  /** The served model versions changed (a load or an unload): announced at once once started. */
  setModels(models: WorkerDescription['models']): void {
    this.description.models = models;
    this.announce();
  }

  /** Every model change up to `seq` is applied (after `setModels`, when the change altered them): announced at once once started. */
  setApplied(seq: number): void {
    this.description.changes_applied = seq;
    this.announce();
  }

  /** The versions it could not open changed (announced at once). */
  setRefused(reasons: Record<string, string>): void {
    this.description.refused = reasons;
    this.announce();
  }

  /** It drains: it fetches and applies nothing more (announced at once). */
  setDraining(): void {
    this.description.draining = true;
    this.announce();
  }

  /** One beat for whatever changed in this turn: a load's new models and its change number go together. */
  private announce(): void {
    if (!this.timer || this.announcing) return;
    this.announcing = true;
    setImmediate(() => {
      this.announcing = false;
      if (this.timer) this.beat().catch((err: unknown) => this.log.warn({ err }, 'heartbeat failed')); // not after `stop`
    });
  }

  start(): void {
    const tick = () =>
      this.beat().catch((err: unknown) => this.log.warn({ err }, 'heartbeat failed'));
    void tick();
    this.timer = setInterval(tick, this.description.heartbeat_ms);
    this.timer.unref();
  }

  /**
   * Leave the registry (a clean stop; a crash is noticed by the missing heartbeats), leaving the
   * last counts (the drained jobs' among them) in `/metrics` for WORKER_METRICS_LINGER_MS: a
   * capacity audit saw every scale-down lose up to a heartbeat of a worker's counts (300 jobs
   * run and never in `maas_jobs_processed_total`).
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const { id } = this.description;
    const metrics = JSON.stringify(await this.metrics.registry.getMetricsAsJSON());
    await this.redis
      .multi()
      .zrem(WORKERS_SEEN_KEY, id)
      .hdel(WORKERS_INFO_KEY, id)
      .hset(WORKERS_METRICS_KEY, id, metrics)
      .eval(RENEW, 1, WORKERS_GONE_KEY, id, 0) // when it left, at Redis's time
      .exec();
  }
}
