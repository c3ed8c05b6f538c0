/**
 * DeadWorkerSweeper: every live worker, every third of the liveness TTL, looks for workers
 * whose beat expired (alive-beat.ts) and releases the jobs they hold in the queues this worker
 * serves (its models', the versions it is retiring too, and the webhook deliveries), so they run elsewhere within seconds
 * instead of after the BullMQ lock (30 s) expires.
 *
 * Releasing goes through BullMQ's own recovery: one script per queue deletes the lock of each
 * active job whose `processedBy` is a dead worker and marks it in the queue's stalled set; the
 * next stalled-job check (any worker's, every WORKER_STALLED_INTERVAL_MS) finds it unlocked and
 * moves it back to wait, counting the stall like any other (so a job that keeps killing its
 * workers still fails after maxStalledCount). A slow worker is not swept: it beats from its
 * main thread, which runs on session threads never block, and keeps its long lock (a stall of
 * the main thread itself past two thirds of the TTL would look like a death: README, limits).
 *
 * A worker restarted under the same WORKER_ID (a pod name) revives its id with its first beat,
 * so no sweeper would release what its dead predecessor held: it does that itself at start-up
 * (`releasePredecessor`), before that beat.
 *
 * A Redis that stalls (restarted, paused, forking, out of memory) stops every worker's beats at
 * once: afterwards each entry but this worker's own reads expired. So nobody is called dead until
 * this worker's own beats have been on time for a whole TTL since its link was interrupted
 * (`link`): by then every live worker has beaten again.
 *
 * Cost: one ZRANGE per period while nobody is dead; the queue scans (LRANGE active + HGET
 * per active job) only run while a dead worker is remembered, at most `forgetAfterMs`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { Periodic, PREFIX, WORKERS_ALIVE_KEY, type Logger } from '@maas/shared';
import { SHOWN } from '../failed-jobs.js';
import { deadWorkers, parseEntries } from './dead-workers.js';
import type { LinkState } from './alive-beat.js';

/**
 * KEYS[1] active list, KEYS[2] stalled set; ARGV[1] the queue's key prefix, ARGV[2..] dead
 * worker ids (and aliases). Returns each released job's id followed by its holder. Atomic, so a job another worker has just taken
 * (its processedBy and lock are set together) is never touched.
 */
const RELEASE = `
local dead = {}
for i = 2, #ARGV do dead[ARGV[i]] = true end
local released = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local by = redis.call('HGET', ARGV[1] .. id, 'pb')
  if by and dead[by] and redis.call('DEL', ARGV[1] .. id .. ':lock') == 1 then
    redis.call('SADD', KEYS[2], id)
    released[#released + 1] = id
    released[#released + 1] = by
  end
end
return released`;

/** Past a predecessor's entry's expiry, how long `releasePredecessor` waits for a renewal that would say another process beats under the id. */
const PREDECESSOR_MARGIN_MS = 200;

/** PURE: RELEASE's reply (job id, holder, …) as each dead worker's job ids (a holder that is an alias counts as its worker). */
export function byHolder(reply: readonly string[], workerOf: ReadonlyMap<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const dead = workerOf.get(reply[i + 1]!) ?? reply[i + 1]!;
    let ids = out.get(dead);
    if (!ids) out.set(dead, (ids = []));
    ids.push(reply[i]!);
  }
  return out;
}

export interface SweeperOptions {
  periodMs: number;
  /** forget a dead worker this long after its beat expired (≥ the BullMQ lock duration) */
  forgetAfterMs: number;
  /** the BullMQ queue names this worker serves now */
  queues: () => string[];
  /** other names a worker holds jobs under (BullMQ's processedBy), e.g. its webhook deliverer's */
  aliases?: (workerId: string) => string[];
  /**
   * This worker's own link to Redis (its AliveBeat): no one is called dead unless it has been
   * steady a whole TTL, and a sweep whose reads come back later than `periodMs` is an
   * interruption itself (they waited on a Redis that stalled, so the entries they read are stale).
   */
  link?: LinkState;
}

export class DeadWorkerSweeper {
  private readonly timer: Periodic;

  constructor(
    private readonly redis: Redis,
    private readonly self: string,
    private readonly log: Logger,
    private readonly opts: SweeperOptions,
  ) {
    this.timer = new Periodic(() => this.sweep(), opts.periodMs, (err, failures) => log.warn({ err, failures }, 'dead-worker sweep failed'));
  }

  /**
   * One pass; returns the number of jobs released. Skipped while this worker's own link to Redis
   * is not steady (`link`): after Redis itself stalled, every other entry reads expired.
   */
  async sweep(): Promise<number> {
    const { link } = this.opts;
    if (link && !link.steady()) return 0;
    const sent = performance.now();
    const [now, reply] = await Promise.all([this.now(), this.redis.zrange(WORKERS_ALIVE_KEY, '0', '-1', 'WITHSCORES')]);
    if (link && performance.now() - sent > this.opts.periodMs) {
      link.interrupted();
      return 0;
    }
    const { dead, forget } = deadWorkers(parseEntries(reply).filter(([id]) => id !== this.self), now, this.opts.forgetAfterMs);
    if (forget.length) await this.redis.zrem(WORKERS_ALIVE_KEY, ...forget);
    if (dead.length === 0) return 0;
    return this.release(dead, this.opts.queues());
  }

  /**
   * At start-up, before this process's first beat: releases, as `sweep` does a dead worker's,
   * what a previous process under this worker's own id held (a worker restarted under a fixed
   * WORKER_ID, such as a pod name), in `queues` (those this worker will serve). No other
   * worker's sweeper does, since this process's beat revives the id. An entry still fresh is
   * waited out first (at most the TTL it was given: a container restarted in place within it,
   * as Docker's and the kubelet's first restarts are, held its jobs 30 s until their locks
   * expired): still fresh then, another live process beats under the id, and its jobs are left
   * alone, with a warning. Returns the number released, or null.
   */
  async releasePredecessor(queues: string[]): Promise<number | null> {
    const [now, score] = await Promise.all([this.now(), this.redis.zscore(WORKERS_ALIVE_KEY, this.self)]);
    const { dead } = deadWorkers(score === null ? [] : [[this.self, Number(score)]], now, Infinity);
    if (score !== null && dead.length === 0) {
      const aliveForMs = Number(score) - now;
      await sleep(Math.min(aliveForMs, this.opts.periodMs * 3) + PREDECESSOR_MARGIN_MS); // periodMs: a third of the TTL
      const [later, again] = await Promise.all([this.now(), this.redis.zscore(WORKERS_ALIVE_KEY, this.self)]);
      if (again !== null && deadWorkers([[this.self, Number(again)]], later, Infinity).dead.length === 0) {
        this.log.warn(
          { workerId: this.self, aliveForMs },
          again !== score
            ? 'another process beats under this WORKER_ID: what it holds is left to it; give each worker process its own WORKER_ID'
            : 'the previous process under this WORKER_ID was given a longer liveness TTL than this one: what it held is left to its locks',
        );
        return null;
      }
    }
    return this.release([this.self], queues);
  }

  /** Redis's clock, in ms (liveness entries are in it). */
  private async now(): Promise<number> {
    const [sec, usec] = await this.redis.time();
    return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  }

  /** Releases the jobs the workers `ids` (and their aliases) hold in `queues`; returns how many. */
  private async release(ids: string[], queues: string[]): Promise<number> {
    const workerOf = new Map(ids.flatMap((id) => [[id, id], ...(this.opts.aliases?.(id) ?? []).map((a) => [a, id] as const)] as const));
    let total = 0;
    for (const queue of queues) {
      const base = `${PREFIX}:${queue}:`;
      const released = (await this.redis.eval(RELEASE, 2, `${base}active`, `${base}stalled`, base, ...workerOf.keys())) as string[];
      for (const [dead, jobIds] of byHolder(released, workerOf)) {
        this.log.warn({ queue, dead_worker: dead, job_ids: jobIds.slice(0, SHOWN), jobs: jobIds.length }, 'released the jobs of a dead worker (no liveness beat)');
      }
      total += released.length / 2;
    }
    return total;
  }

  start(): void {
    this.timer.start();
  }

  /** No more sweeps; resolves once a sweep under way has ended. */
  stop(): Promise<void> {
    return this.timer.stop();
  }
}
