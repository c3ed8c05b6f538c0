/**
 * Lost fetches: jobs a fetch took in Redis whose reply never reached the worker.
 *
 * A worker takes a job with a script that locks it under a token and moves it to `active`:
 * BullMQ's moveToActive, its moveToFinished (which takes the next job as it records one) and
 * the blocking fetch's (batching/blocking-fetch.ts). When the connection is reset after Redis ran such a
 * script and before its reply arrived, ioredis sends the command again once it has reconnected,
 * and that run takes another job or none (without the resend the command fails: the same). The
 * job the first run took sat in `active` under a lock no one held until the lock expired
 * (WORKER_LOCK_MS, 30 s) and a stalled-job check requeued it (a network audit: 1 of 6 resets of
 * 0.3 s; e2e workers.redis-link).
 *
 * So a fetch whose connection closed while it was out (it answered or failed after a reconnect:
 * worker connections resend, never fail, what a lost connection left unanswered) hands back to the wait
 * list every job locked under its token but the one it brought (and the one a completion
 * ends), through BullMQ's
 * moveJobFromActiveToWait (which checks the token, so a job whose lock changed meanwhile is
 * left alone; it marks the queue again). No other fetch can be locking under that token
 * meanwhile: BullMQ gives each fetch of its loop a token of its own, a job's completion takes
 * the next job under the job's token, and each caller awaits the fetch (and so this) before it
 * sends anything more under its token.
 *
 * Cost: nothing while connections stay up (a counter read before and after a fetch); one scan of
 * `active` (LRANGE and a GET a job, in one script) for a fetch that was out when its connection
 * closed: after a Redis restart, one for each fetch or completion then in flight. On a Redis Cluster this recovery is not installed (not tried there: a
 * cluster client's connections are its nodes'); `handBackOf` is.
 */
import type { Job, Worker } from 'bullmq';
import type { Logger } from '@maas/shared';
import { runScript, type CommandClient, type Script } from '../bullmq-scripts.js';

/**
 * KEYS[1] the active list; ARGV[1] the queue's key prefix, ARGV[2] a token, ARGV[3..] job ids to
 * leave. The ids of the other active jobs locked under the token.
 */
export const LOCKED_UNDER_LUA = `local leave = {}
for i = 3, #ARGV do leave[ARGV[i]] = true end
local found = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if not leave[id] and redis.call('GET', ARGV[1] .. id .. ':lock') == ARGV[2] then found[#found + 1] = id end
end
return found`;

/**
 * Marks the queue again for a job handed back to the wait list, unless the queue is paused (a
 * paused queue's jobs wait unmarked, as BullMQ's own scripts leave them). BullMQ's
 * moveJobFromActiveToWait marks it only for a job without a priority: a job with one (every
 * job the API's fair share orders) would wait unseen until a waiting worker's wait timed out.
 */
export const MARK_UNLESS_PAUSED_LUA = `if redis.call('HEXISTS', KEYS[1], 'paused') == 1 then return 0 end
return redis.call('ZADD', KEYS[2], 0, '0')`;

/**
 * Undoes what a fetch wrote on a job it locked under ARGV[1] and that goes back unstarted:
 * `processedOn` (read as "a worker took it before": its expiry, the queued-rows tally, a job's
 * started_at), `pb` (its holder) and one of its attempts started (`ats`). Only while the lock is
 * still the token's (the job still in `active`, not yet moved): 1, else 0 and nothing written.
 * KEYS[1] the job hash, KEYS[2] its lock.
 */
export const UNTAKE_LUA = `if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'processedOn', 'pb')
if tonumber(redis.call('HGET', KEYS[1], 'ats') or '0') > 0 then redis.call('HINCRBY', KEYS[1], 'ats', -1) end
return 1`;

const LOCKED_UNDER: Script = { name: 'maasLockedUnder', numberOfKeys: 1, lua: LOCKED_UNDER_LUA };
const UNTAKE: Script = { name: 'maasUntake', numberOfKeys: 2, lua: UNTAKE_LUA };
const MARK_UNLESS_PAUSED: Script = { name: 'maasMarkUnlessPaused', numberOfKeys: 2, lua: MARK_UNLESS_PAUSED_LUA };

/** A connection as ioredis has it: its state and its events (`close`). */
export interface Connection {
  readonly status?: string;
  on?(event: 'close', listener: () => void): unknown;
}

/** What of BullMQ's queue backend this uses (bullmq 6: redis-queue-backend.ts). */
export interface LostFetchBackend {
  queue: { keys: Record<string, string>; readonly client?: Promise<CommandClient | undefined> };
  moveJobFromActiveToWait(jobId: string, token: string): Promise<unknown>;
}

/**
 * Moves `id`, locked under `token` and never started, back to the wait list as it was before its
 * fetch (UNTAKE_LUA, while the lock still holds it) and marks the queue (see
 * MARK_UNLESS_PAUSED_LUA). Rejects when the job's lock changed meanwhile (left alone).
 */
export async function handBack(backend: LostFetchBackend, id: string, token: string): Promise<void> {
  const client = await backend.queue.client;
  const keys = backend.queue.keys;
  if (client) await runScript(client, UNTAKE, [`${keys['']!}${id}`, `${keys['']!}${id}:lock`, token]);
  await backend.moveJobFromActiveToWait(id, token);
  if (client) await runScript(client, MARK_UNLESS_PAUSED, [keys['meta']!, keys['marker']!]);
}

const closeCounts = new WeakMap<object, { n: number }>();

/** How often `connection` has closed since it was first asked about (0 for one without events). */
export function closes(connection: Connection): number {
  let count = closeCounts.get(connection);
  if (!count) {
    if (typeof connection.on !== 'function') return 0;
    const c = { n: 0 };
    connection.on('close', () => c.n++);
    closeCounts.set(connection, (count = c));
  }
  return count.n;
}

export class LostFetches {
  constructor(
    private readonly backend: LostFetchBackend,
    private readonly log: Logger,
  ) {}

  /**
   * Runs `fetch`, which takes a job under `token` on `connection` (sent at once, before anything
   * is awaited), and hands back what a lost reply of it locked (see the top) before it answers
   * with what it took (whose id `idOf` reads). `leave`: jobs locked under the token that are
   * not to be handed back whatever happens (the job a completion ends). Only a fetch sent on a
   * connection that was up can lose its reply: one sent while it was down waits in ioredis's
   * queue and goes out once, when it is back (no scan for each job that ends during an outage).
   */
  async around<T>(connection: Connection, token: string, fetch: () => Promise<T>, idOf: (taken: T) => string | undefined, leave: readonly string[] = []): Promise<T> {
    const sentOnReady = connection.status === undefined || connection.status === 'ready';
    const before = closes(connection);
    const lost = () => sentOnReady && closes(connection) !== before;
    let job: T;
    try {
      job = await fetch();
    } catch (err) {
      if (lost()) await this.release(token, leave);
      throw err;
    }
    if (lost()) {
      const id = idOf(job);
      await this.release(token, id === undefined ? leave : [...leave, id]);
    }
    return job;
  }

  /** Hands back to the wait list every active job locked under `token` but those in `leave`; never throws. */
  async release(token: string, leave: readonly string[] = []): Promise<void> {
    try {
      const client = await this.backend.queue.client;
      if (!client) return;
      const keys = this.backend.queue.keys;
      const ids = (await runScript(client, LOCKED_UNDER, [keys['active']!, keys['']!, token, ...leave])) as string[];
      for (const id of ids) {
        try {
          await handBack(this.backend, id, token);
          this.log.warn({ jobId: id }, 'a job whose fetch reply was lost is handed back to its queue');
        } catch (err) {
          this.log.debug({ err, jobId: id }, 'a job a lost fetch reply took was moved on meanwhile');
        }
      }
    } catch (err) {
      this.log.warn({ err, token }, 'looking for jobs a lost fetch reply took failed; they come back when their locks expire');
    }
  }
}

/** The members of BullMQ's Worker whose fetches this watches (bullmq 6: worker.ts). */
interface FetchingWorker {
  backend: LostFetchBackend;
  moveToActive(token: string, name?: string): Promise<Job | undefined>;
  handleCompleted(result: unknown, job: Job, token: string, ...rest: unknown[]): Promise<Job | undefined>;
  handleFailed(err: Error, job: Job, token: string, ...rest: unknown[]): Promise<Job | undefined>;
}

/**
 * `handBack` on `worker`'s queue, or undefined when BullMQ's worker lacks what it uses (a BullMQ
 * upgrade that changes them: BullMQ's moveToWait then, its fetch's stamps kept). On a Redis
 * Cluster too, unlike the recovery below: its keys are the job's and its queue's (one hash slot).
 */
export function handBackOf(worker: Worker): ((id: string, token: string) => Promise<void>) | undefined {
  const b = (worker as unknown as Partial<FetchingWorker>).backend;
  return canHandBack(b) ? (id, token) => handBack(b, id, token) : undefined;
}

/** `backend` has what `handBack` uses: the queue's key prefix, meta and marker keys, and BullMQ's move. */
function canHandBack(backend: Partial<LostFetchBackend> | undefined): backend is LostFetchBackend {
  const keys = backend?.queue?.keys;
  return keys !== undefined && ['', 'meta', 'marker'].every((k) => typeof keys[k] === 'string') && typeof backend!.moveJobFromActiveToWait === 'function';
}

/**
 * Makes `worker`'s own fetches on `connection`, its command connection (moveToActive; the
 * completion and failure scripts, which take the next job), hand back what a lost reply locked.
 * Returns the LostFetches (the blocking fetch uses it too), or undefined, leaving the worker as
 * it is, when a member it uses is missing (a BullMQ upgrade that changes them costs the
 * recovery, never a job) or on a Redis Cluster.
 */
export function installLostFetches(worker: Worker, connection: Connection, log: Logger, cluster = false): LostFetches | undefined {
  const w = worker as unknown as Partial<FetchingWorker>;
  const b = w.backend;
  if (cluster || typeof w.moveToActive !== 'function' || typeof w.handleCompleted !== 'function' || typeof w.handleFailed !== 'function'
    || !canHandBack(b) || typeof b.queue.keys['active'] !== 'string') {
    if (!cluster) log.warn('BullMQ worker lacks what the lost-fetch recovery uses; a job a lost reply took waits for its lock to expire');
    return undefined;
  }
  const lost = new LostFetches(b, log);
  const f = w as FetchingWorker;
  const moveToActive = f.moveToActive.bind(f);
  const handleCompleted = f.handleCompleted.bind(f);
  const handleFailed = f.handleFailed.bind(f);
  const idOf = (job: Job | undefined) => job?.id;
  f.moveToActive = (token, name) => lost.around(connection, token, () => moveToActive(token, name), idOf);
  // The job a completion or failure ends is locked under the token too: never handed back (its
  // end may not have been recorded, and BullMQ tries it again).
  const ending = (job: Job) => (job.id === undefined ? [] : [job.id]);
  f.handleCompleted = (result, job, token, ...rest) => lost.around(connection, token, () => handleCompleted(result, job, token, ...rest), idOf, ending(job));
  f.handleFailed = (err, job, token, ...rest) => lost.around(connection, token, () => handleFailed(err, job, token, ...rest), idOf, ending(job));
  return lost;
}
