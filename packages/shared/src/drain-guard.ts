/**
 * A drain bounded by Redis's absence. A process told to stop finishes what it holds, which
 * takes Redis: with Redis gone, every write, and a BullMQ queue's close, waits for it (the
 * connections retry without end), so the drain, and the process, waited until Redis came back
 * or the process was killed. A drain gives up once Redis has been unreachable for a while:
 * - a worker exits 1 instead of 0, and the jobs it held are recovered as a dead worker's are
 *   (live workers see its liveness beat gone, or the jobs' locks expire, once Redis is back);
 * - the API, which holds nothing of its own, exits 0 with a warning.
 * A drain while Redis answers is never cut short, however long it takes. Unreachable includes a
 * Redis that keeps its connections open and answers nothing (frozen, paused, a network that
 * drops packets): its connection still reads `ready`, so a PING must answer (`redisAnswers`).
 */

import { isCommandTimeout } from './redis.js';

/** The drain gave up: Redis stayed unreachable for its wait. */
export class RedisGoneError extends Error {
  constructor(waitMs: number) {
    super(`Redis unreachable for ${waitMs} ms while draining: stopping without it (a worker's held jobs go back to the queue when Redis returns: dead-worker sweep or lock expiry)`);
    this.name = 'RedisGoneError';
  }
}

/**
 * Settles as `drain` does, unless `reachable()` reads false at every check (each `pollMs`)
 * for `waitMs` first: then rejects with RedisGoneError. A reading of true starts the wait over.
 */
export function drainWhileRedisAnswers(drain: Promise<void>, reachable: () => boolean, waitMs: number, pollMs = 100): Promise<void> {
  return new Promise((resolve, reject) => {
    let goneSince: number | undefined;
    const timer = setInterval(() => {
      if (reachable()) {
        goneSince = undefined;
        return;
      }
      goneSince ??= Date.now();
      if (Date.now() - goneSince < waitMs) return;
      clearInterval(timer);
      reject(new RedisGoneError(waitMs));
    }, pollMs);
    drain.then(
      () => {
        clearInterval(timer);
        resolve();
      },
      (err: unknown) => {
        clearInterval(timer);
        reject(err as Error);
      },
    );
  });
}

/** How long a PING may go unanswered before Redis counts as unreachable (`redisAnswers`). */
export const PING_LATE_MS = 1000;

/**
 * A `reachable` for drainWhileRedisAnswers: `redis`'s connection is up and a PING sent on it
 * (one at a time, each from a check after the last one answered) has answered, or has been out
 * for less than `lateMs`. A reply of any kind is an answer; a command timeout is none.
 */
export function redisAnswers(redis: { readonly status: string; ping(): Promise<unknown> }, lateMs = PING_LATE_MS, now: () => number = Date.now): () => boolean {
  let sentAt: number | undefined;
  return () => {
    if (redis.status !== 'ready') return false;
    if (sentAt !== undefined) return now() - sentAt < lateMs;
    sentAt = now();
    const answered = () => {
      sentAt = undefined;
    };
    // A PING the connection's commandTimeout failed (the API's) went unanswered: still late.
    redis.ping().then(answered, (err: unknown) => {
      if (!isCommandTimeout(err)) answered();
    });
    return true;
  };
}
