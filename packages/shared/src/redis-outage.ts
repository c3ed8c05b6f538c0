/**
 * The line that closes a Redis outage in a process's log. The outage's start is logged where it
 * is met (the API's "Redis connection failed; reconnecting", the worker's "worker error",
 * throttled to one line a reason every 30 s); without an end, an on-call reading the logs could
 * not tell an outage of seconds from one of an hour (an on-call audit). Once a connection that
 * was lost is ready again, one `info` line says so, with how long it was down and how many
 * connection errors it met meanwhile.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from './logger.js';

export function logRedisReturn(client: EventEmitter, log: Logger, connection: string, now: () => number = Date.now): void {
  let downSince: number | undefined;
  let errors = 0;
  // ioredis says 'reconnecting' when a connection it had is lost, and before each new attempt.
  client.on('reconnecting', () => (downSince ??= now()));
  client.on('error', () => {
    if (downSince !== undefined) errors++;
  });
  client.on('ready', () => {
    if (downSince === undefined) return;
    log.info({ connection, down_ms: now() - downSince, errors }, 'Redis reachable again');
    downSince = undefined;
    errors = 0;
  });
}
