/**
 * Blocking fetch: an idle worker's wait for a job also takes the job, in one round trip.
 *
 * Once its queue is drained, BullMQ's Worker blocks on the queue's marker (`BZPOPMIN` on its
 * blocking connection) and, when a new job wakes it, asks Redis for the job (its
 * `moveToActive` script, on the other connection): two round trips between a job's arrival
 * and its run, on the path of every job at low load (440 µs for the second one here,
 * BENCHMARKS.md round 12). Here the script goes out on the blocking connection right behind
 * the `BZPOPMIN`: Redis runs a client's commands in order, so the script runs the moment the
 * marker is popped and both replies come back together. If the wait times out, the script
 * runs all the same and finds what it finds (usually nothing), as BullMQ's own fetch after a
 * timeout does. Behind them goes DROP_STALE_MARKER_LUA (by its SHA), so that the marker the
 * fetch adds back does not wake the next wait for nothing.
 *
 * Two things differ from BullMQ's own fetch, and are handled here:
 * - The script's timestamp (the job's `processedOn`, and the time delayed jobs are promoted
 *   against) is when the wait began, not when the job was taken. The runner stamps when it took
 *   the job (its result's `started` and `queue_ms`, on the cluster's clock: runner.ts `hold`),
 *   and the job views never show a start before the job's creation (views/job.ts): a worker
 *   that was waiting took a new job at once. A delayed job that fell due during the wait is promoted by
 *   BullMQ's own fetch, which the worker makes next (its marker's time has come).
 * - A wait that outlasts its timeout by a second is given up, as BullMQ's own watchdog gives
 *   up a stuck `BZPOPMIN` (ioredis re-sends a blocking command after a reconnect instead of
 *   failing it); a job that such a late reply still brings is handed back to the wait list.
 *
 * It works on BullMQ's Worker from the inside (members that its types call private):
 * `installBlockingFetch` checks every member it uses and leaves the worker as it is when one
 * is missing, so a BullMQ upgrade that changes them costs the hop, never a job. A Redis
 * Cluster keeps BullMQ's own fetch (its blocking client recovers from slot moves there).
 * BullMQ's fetch loop reads `waiting` right after asking for a job, to know not to await a
 * fetch that blocks while it holds other jobs: it is set before anything is awaited here too
 * (set after an await, the loop awaited a 5 s wait while the jobs it held lost their locks).
 */
import { raw2NextJobData, type Job, type Worker } from 'bullmq';
import { Packr } from 'msgpackr';
import type { Logger } from '@maas/shared';
import { runScript, type CommandClient, type Script } from '../bullmq-scripts.js';
import { handBack, type Connection, type LostFetches } from '../liveness/lost-fetches.js';

/** How BullMQ packs the script's options (redis-queue-backend.ts). */
const packer = new Packr({ useRecords: false, encodeUndefinedAsNil: true });

/** The keys of BullMQ's moveToActive script, in its order (moveToActive-11.lua). */
const SCRIPT_KEYS = ['wait', 'active', 'prioritized', 'events', 'stalled', 'limiter', 'delayed', 'paused', 'meta', 'pc', 'marker'] as const;

/**
 * BullMQ's moveToActive adds the queue's base marker (member `0`) back whenever it takes a job,
 * so that another worker looks for more. With nothing else waiting, the worker's next wait would
 * pop that marker at once and make a fetch that finds nothing: two commands and a wake-up of
 * the worker and of Redis a job at low load, made just as the job's answer is on its way. Sent
 * right behind the moveToActive, this drops the marker when no job is waiting (atomically: a job
 * added afterwards adds it again; a delayed job's marker, member `1`, is left alone).
 */
export const DROP_STALE_MARKER_LUA = `if redis.call('LLEN', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then
  return redis.call('ZREM', KEYS[3], '0')
end
return 0`;

const DROP_STALE_MARKER: Script = { name: 'maasDropStaleMarker', numberOfKeys: 3, lua: DROP_STALE_MARKER_LUA };

/** The blocking connection: a command client, its `BZPOPMIN` and its socket. */
interface BlockingClient extends CommandClient, Connection {
  bzpopmin(key: string, timeout: number): Promise<[string, string, string] | null>;
  /** ioredis's socket */
  readonly stream?: { cork(): void; uncork(): void };
}

interface BackendInternals {
  version: string;
  queue: {
    keys: Record<string, string>;
    opts: { lockDuration?: number; limiter?: unknown };
    readonly blockingClient: Promise<BlockingClient> | undefined;
    /** the queue's command connection */
    readonly client?: Promise<CommandClient | undefined>;
  };
  blockingConnection?: { capabilities?: { canDoubleTimeout?: boolean } };
  reconnectBlocking(): Promise<void>;
  moveJobFromActiveToWait(jobId: string, token: string): Promise<unknown>;
}

type GetNextJob = (token: string, opts?: { block?: boolean }) => Promise<Job | undefined>;

/** The members of BullMQ's Worker this uses (bullmq 6: worker.ts). */
export interface WorkerInternals {
  _getNextJob: GetNextJob;
  drained: boolean;
  limitUntil: number;
  blockUntil: number;
  waiting: Promise<unknown> | null;
  paused: boolean;
  closing: Promise<void> | undefined;
  opts: { name?: string };
  backend: BackendInternals;
  isRateLimited(): boolean;
  getBlockTimeout(blockUntil: number): number;
  updateDelays(limitDelay?: number, delayUntil?: number): void;
  nextJobFromJobData(jobData: unknown, jobId: string | undefined, token: string): Promise<Job | undefined>;
  delay(ms?: number): Promise<void>;
}

const METHODS = ['_getNextJob', 'isRateLimited', 'getBlockTimeout', 'updateDelays', 'nextJobFromJobData', 'delay'] as const;

/** PURE: what of BullMQ's Worker this needs and does not find (empty: it can be installed). */
export function missingMembers(worker: object): string[] {
  const w = worker as Partial<WorkerInternals>;
  const missing: string[] = METHODS.filter((m) => typeof w[m] !== 'function');
  for (const field of ['drained', 'limitUntil', 'blockUntil'] as const) if (!(field in w)) missing.push(field);
  const b = w.backend;
  if (!b || typeof b.version !== 'string' || !b.queue?.keys || !b.queue.blockingClient || typeof b.reconnectBlocking !== 'function' || typeof b.moveJobFromActiveToWait !== 'function') missing.push('backend');
  else for (const k of ['', ...SCRIPT_KEYS]) if (typeof b.queue.keys[k] !== 'string') missing.push(`key ${k || "''"}`);
  return missing;
}

/**
 * Makes `worker` take a job with its wait when its queue is drained (see the file's comment).
 * Returns false (and leaves the worker as it is) when it lacks a member this uses, or when
 * its connection is a Redis Cluster.
 */
export function installBlockingFetch(worker: Worker, log: Logger, cluster = false, lost?: LostFetches): boolean {
  const missing = missingMembers(worker);
  if (cluster || missing.length > 0) {
    if (!cluster) log.warn({ missing }, 'BullMQ worker lacks what the blocking fetch uses; its own fetch is kept');
    return false;
  }
  const w = worker as unknown as WorkerInternals;
  const own = w._getNextJob.bind(w);
  w._getNextJob = (token, opts = {}) => {
    if (opts.block === false || !w.drained || w.limitUntil || w.waiting || w.paused || w.closing || w.isRateLimited()) return own(token, opts);
    const timeout = w.getBlockTimeout(w.blockUntil);
    if (!(timeout > 0)) return own(token, opts);
    w.updateDelays(); // as BullMQ's wait does: nothing carried over from the last fetch
    // Set before anything is awaited, as BullMQ sets it: its fetch loop reads it right after
    // this call to tell a blocking fetch (not to be awaited while it holds jobs) from a quick one.
    const taking = waitAndTake(w, token, timeout, log, lost);
    w.waiting = taking;
    return (async () => {
      try {
        const next = await taking;
        if (!next) return undefined;
        const [jobData, id, limitDelay, delayUntil] = next as [unknown, string | undefined, number, number];
        w.updateDelays(limitDelay, delayUntil);
        const job = await w.nextJobFromJobData(jobData, id, token);
        return job;
      } finally {
        w.waiting = null;
      }
    })();
  };
  return true;
}

/** Sends `BZPOPMIN`, `moveToActive` and the stale marker's drop back to back; the next job's data, or undefined. Exported for its unit test. */
export async function waitAndTake(w: WorkerInternals, token: string, timeout: number, log: Logger, lost?: LostFetches): Promise<unknown[] | undefined> {
  const b = w.backend;
  const client = await b.queue.blockingClient;
  if (!client) return undefined;
  const keys = b.queue.keys;
  const seconds = b.blockingConnection?.capabilities?.canDoubleTimeout ? timeout : Math.ceil(timeout);
  const args = [
    ...SCRIPT_KEYS.map((k) => keys[k]!),
    keys['']!,
    Date.now(), // BullMQ's own clock (delayed jobs' promotion, as its other fetches); the runner stamps when the job started
    packer.pack({ token, lockDuration: b.queue.opts.lockDuration, limiter: b.queue.opts.limiter, name: w.opts.name }),
  ];
  // All in one write: ioredis writes each command as it is sent, and a corked socket sends
  // what it holds with one writev when uncorked (one syscall, one wake-up of Redis, not three).
  const socket = client.stream;
  socket?.cork();
  let popped: Promise<unknown>;
  let taken: Promise<unknown[]>;
  let dropped: Promise<unknown>;
  try {
    popped = client.bzpopmin(keys['marker']!, seconds);
    const take = () => client.runCommand(`moveToActive:${b.version}`, args).then((raw) => raw2NextJobData(raw as unknown[]));
    // A job a reply lost to a reset took goes back to the wait list (lost-fetches.ts).
    taken = lost ? lost.around(client, token, take, (next) => next[1] as string | undefined) : take();
    dropped = runScript(client, DROP_STALE_MARKER, [keys['wait']!, keys['prioritized']!, keys['marker']!]);
  } finally {
    socket?.uncork();
  }
  popped.catch(() => {});
  dropped.catch(() => {});
  let watchdog: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'gave up'>((resolve) => (watchdog = setTimeout(() => resolve('gave up'), seconds * 1000 + 1000)));
  try {
    const next = await Promise.race([taken, gaveUp]);
    if (next !== 'gave up') return next;
    // The connection is stuck: start it afresh. A job the abandoned script still takes goes back
    // (ioredis sends the abandoned commands again once the connection is back), its queue marked.
    void taken.then(async ([data, id]) => {
      if (data && id) await handBack(b, id as string, token);
    }).catch(() => {});
    await b.reconnectBlocking().catch(() => {});
    return undefined;
  } catch (err) {
    if (w.closing) return undefined;
    log.warn({ err }, 'waiting for a job failed; retrying');
    await b.reconnectBlocking().catch(() => {});
    await w.delay();
    return undefined;
  } finally {
    clearTimeout(watchdog);
  }
}
