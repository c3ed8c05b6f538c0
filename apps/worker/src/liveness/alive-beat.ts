/**
 * AliveBeat: this worker's liveness in Redis, renewed every third of its TTL from a timer on
 * the main thread. The main thread never runs long inference (session threads do; only runs
 * predicted under WORKER_INLINE_MAX_MS run inline), so a worker deep in a long ONNX run still
 * beats on time: a missing beat means the process is gone (killed, crashed, host lost) or
 * frozen, never merely busy. Live workers' sweepers then release its jobs (sweeper.ts).
 *
 * Entries live in one sorted set (WORKERS_ALIVE_KEY: id → expiry), not as TTL keys, so a
 * sweeper can tell an expired worker from one that never beat (an older worker version: its
 * jobs are left to BullMQ's lock expiry). Expiry uses Redis's clock, so hosts' clocks may differ.
 */
import type { Redis } from 'ioredis';
import { redisUnavailableReason, refusesWrites, WORKERS_ALIVE_KEY, type Logger } from '@maas/shared';
import { linkSteady } from './dead-workers.js';

/** How often a first beat Redis refused is tried again, and how often that is logged. */
const REFUSED_RETRY_EVERY_MS = 1_000;
const REFUSED_WARN_MS = 30_000;

/** ZADD id (Redis time + ttl); returns Redis time in ms. Also the heartbeat's stamp (ttl 0). */
export const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return now`;

/**
 * What the sweeper asks of this worker's own link to Redis before it calls others dead
 * (sweeper.ts): whether it has beaten on time for a whole TTL since its last interruption.
 */
export interface LinkState {
  steady(): boolean;
  /** a round trip to Redis failed or came late (the caller saw it) */
  interrupted(): void;
}

export class AliveBeat implements LinkState {
  private timer: NodeJS.Timeout | undefined;
  /** when the last renewal succeeded (performance.now()), for the worker's readiness */
  lastRenewedAt: number | undefined;
  /** why the last renewal failed (redisUnavailableReason, or `error`), until one succeeds: readiness says it */
  lastFailure: string | undefined;
  /** when a renewal (or a sweep's read) last failed or came late (performance.now()) */
  private interruptedAt = Number.NEGATIVE_INFINITY;
  /** a renewal sent and not yet answered */
  private inFlight = false;

  constructor(
    private readonly redis: Redis,
    private readonly workerId: string,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {}

  /** One renewal. One that fails, or answers later than a beat's period, is an interruption. */
  async beat(): Promise<void> {
    const sent = performance.now();
    try {
      await this.redis.eval(RENEW, 1, WORKERS_ALIVE_KEY, this.workerId, this.ttlMs);
    } catch (err) {
      this.interrupted();
      this.lastFailure = redisUnavailableReason(err) ?? 'error';
      throw err;
    }
    this.lastFailure = undefined;
    this.lastRenewedAt = performance.now();
    if (this.lastRenewedAt - sent > this.periodMs) this.interrupted();
  }

  /**
   * Beats once (before this worker takes any job), then every ttl/3. While Redis refuses writes
   * (out of memory, read-only) the first beat is tried again each second, with a warning every
   * 30 s: a worker that exited there was started again into the same refusal, a crash loop,
   * and never came up to run the jobs whose ending frees the memory (a Redis audit).
   */
  async start(): Promise<void> {
    for (let warnedAt = Number.NEGATIVE_INFINITY; ; ) {
      try {
        await this.beat();
        break;
      } catch (err) {
        if (!refusesWrites(err)) throw err;
        if (performance.now() - warnedAt >= REFUSED_WARN_MS) {
          warnedAt = performance.now();
          this.log.warn({ err, reason: this.lastFailure }, 'Redis refuses writes: this worker takes no job until its liveness is recorded');
        }
        await new Promise((r) => setTimeout(r, REFUSED_RETRY_EVERY_MS));
      }
    }
    this.timer = setInterval(() => this.tick(), this.periodMs);
    this.timer.unref();
  }

  /**
   * A renewal, unless the last one is still unanswered: then none (an interruption). A link
   * that delivers this worker's commands but not Redis's replies (a half-open connection, a
   * proxy holding replies) kept renewing with beats no one saw answered, so the worker was
   * never swept and the jobs it could not finish waited out their 30 s lock (a network
   * audit); now its entry expires a TTL after the last renewal Redis ran, and live workers
   * release its jobs. A renewal waiting for a Redis that is down or busy still runs once it
   * is back, as before.
   */
  tick(): void {
    if (this.inFlight) {
      this.interrupted();
      return;
    }
    this.inFlight = true;
    this.beat()
      .catch((err: unknown) => this.log.warn({ err }, 'liveness beat failed'))
      .finally(() => {
        this.inFlight = false;
      });
  }

  get periodMs(): number {
    return Math.max(100, Math.floor(this.ttlMs / 3));
  }

  steady(): boolean {
    return linkSteady(this.interruptedAt, performance.now(), this.ttlMs);
  }

  interrupted(): void {
    this.interruptedAt = performance.now();
  }

  /** A clean stop (after the drain): leave at once, nothing to release. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.zrem(WORKERS_ALIVE_KEY, this.workerId);
  }
}
