import type { ChainableCommander, Redis, Cluster } from 'ioredis';
import { Periodic } from './periodic.js';

/**
 * The cluster's one clock: Redis's (`TIME`), read in every process as its own clock plus an
 * offset kept from a `TIME` every SYNC_MS. What one process stamps and another judges is on
 * it: `timeout_ms` deadlines and their expiry, a job's created/started/completed times,
 * retention, a batch's `expires_at`, outbox and upload leases, queued-row ledgers, webhook
 * timestamps, signatures and retry schedules. A host whose clock is off (no NTP, a VM
 * resumed) then stamps and judges as the others do (a clock-skew audit: an API 60 s ahead
 * expired every queued `timeout_ms` job of the cluster; a worker 2 h off had every webhook
 * it signed refused).
 *
 * Local durations (a timer, a cache's age) stay on the host's clock. BullMQ's own stamps
 * (a job's `processedOn`/`finishedOn` when BullMQ's scripts set them, its promotion of delayed
 * jobs in workers it runs) read the host's clock: the README says so.
 *
 * One per process (a module singleton): every module reads `clusterNow()` without a clock
 * passed through every constructor; until `keepClusterClock` has read Redis once it is the
 * host's clock.
 */

/** How often each process reads Redis's TIME again. */
export const CLUSTER_CLOCK_SYNC_MS = 10_000;
/** A reading whose round trip took longer than this says too little (± half of it) to follow small moves. */
const TRUSTED_ROUND_TRIP_MS = 50;
/** An offset that moved less than this is noise (the round trip's jitter): the kept one stays, so stamps do not jitter. */
const OFFSET_NOISE_MS = 3;

let offsetMs = 0;
let synced = false;

/** Milliseconds since the epoch on the cluster's clock (Redis's). */
export function clusterNow(): number {
  return Date.now() + offsetMs;
}

/** Whether Redis's TIME has been read (the cluster's clock is known, not the host's). */
export function clusterSynced(): boolean {
  return synced;
}

/** How far this host's clock is behind the cluster's (negative: ahead), in ms; 0 until read. */
export function clusterClockOffset(): number {
  return offsetMs;
}

/**
 * The offset a `TIME` reply gives, read between `sentAt` and `answeredAt` on this host: Redis
 * read its clock somewhere in the round trip, most likely in its middle. Pure, for its test.
 */
export function offsetFrom(reply: readonly (string | number)[], sentAt: number, answeredAt: number): number {
  const redisMs = Number(reply[0]) * 1000 + Number(reply[1] ?? 0) / 1000;
  return Math.round(redisMs - (sentAt + answeredAt) / 2);
}

/**
 * Whether a new reading replaces the kept offset. Pure, for its test. A reading is off by at
 * most half its round trip: a quick one that moved past the noise is taken; a slow one (a
 * distant or managed Redis, every reading slow) only when it moved by more than it can be off,
 * which is this host's clock stepping (NTP, a VM resumed).
 */
export function takesReading(kept: number, hasKept: boolean, reading: number, roundTripMs: number): boolean {
  if (!hasKept) return true;
  const moved = Math.abs(reading - kept);
  if (roundTripMs <= TRUSTED_ROUND_TRIP_MS) return moved >= OFFSET_NOISE_MS;
  return moved > roundTripMs / 2 + OFFSET_NOISE_MS;
}

/**
 * A read that rides on the clock's (in the same round trip, after TIME): a check every
 * process makes every CLUSTER_CLOCK_SYNC_MS without a round trip of its own (the data epoch).
 */
export interface ClockRider {
  /** Adds its one command to the clock's pipeline. */
  board(p: ChainableCommander): void;
  /** Its command's reply, or the error it met (the clock's reading stands all the same). */
  arrive(err: Error | null, reply: unknown): void;
}

/** Reads Redis's TIME once and keeps the offset it gives (see `takesReading`); `rider`'s command goes along. */
export async function syncClusterClock(redis: Redis | Cluster, rider?: ClockRider): Promise<void> {
  const sentAt = Date.now();
  let reply: readonly (string | number)[];
  if (rider) {
    const p = redis.pipeline().time();
    rider.board(p);
    const [[timeErr, time] = [null, undefined], [ridingErr, riding] = [null, undefined]] = (await p.exec()) ?? [];
    if (timeErr) throw timeErr;
    reply = time as (string | number)[];
    // The rider's own failure (its script writes: refused by a Redis out of memory or read-only,
    // which still answers TIME) is its own to report, never the clock's.
    rider.arrive(ridingErr, riding);
  } else {
    reply = await redis.time();
  }
  const answeredAt = Date.now();
  const reading = offsetFrom(reply, sentAt, answeredAt);
  if (takesReading(offsetMs, synced, reading, answeredAt - sentAt)) offsetMs = reading;
  synced = true;
}

/**
 * Reads the cluster's clock now (awaited: a process stamps nothing before it knows the clock;
 * a Redis that does not answer leaves the host's clock until it does), every
 * CLUSTER_CLOCK_SYNC_MS after, and as soon as the connection is back after a loss ('ready'),
 * with `rider`'s read each time. Stop the returned task at shutdown.
 */
export async function keepClusterClock(redis: Redis | Cluster, onError: (err: unknown) => void, rider?: ClockRider): Promise<Periodic> {
  await syncClusterClock(redis, rider).catch(onError);
  const task = new Periodic(() => syncClusterClock(redis, rider), CLUSTER_CLOCK_SYNC_MS, onError).start();
  redis.on('ready', () => task.now());
  return task;
}

/** For tests: forget the kept offset. */
export function resetClusterClock(): void {
  offsetMs = 0;
  synced = false;
}
