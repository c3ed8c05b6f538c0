/**
 * pino loggers with the service name and pid; `LOG_LEVEL` sets the level. On a terminal the
 * lines are human-readable (pino-pretty, in-process: a person is reading, not a collector);
 * anywhere else, JSON lines. `LOG_FORMAT=json|pretty` overrides the choice. A JSON line names
 * its level (`"level":"warn"`), as log collectors (Loki, Cloud Logging, Elastic) read it, not
 * pino's number.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { z } from 'zod';
import { isRedisUnavailable } from './redis.js';
import pretty from 'pino-pretty';

export type { Logger };

/** PURE: pretty lines or JSON, from LOG_FORMAT and whether stdout is a terminal. */
export function logFormat(env: string | undefined, isTty: boolean): 'pretty' | 'json' {
  if (env === 'json' || env === 'pretty') return env;
  return isTty ? 'pretty' : 'json';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** LOG_LEVEL and LOG_FORMAT, for each process's config schema: a bad value stops the start with the other problems. */
export const LoggingEnv = {
  LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
};

/** The Redis commands whose arguments carry REDIS_URL's user and password (`HELLO 3 AUTH user pass`). */
const CREDENTIAL_COMMANDS = /^(?:auth|hello)$/i;

/**
 * PURE: an error as pino logs it (its standard serializer), but for the arguments of a Redis
 * AUTH or HELLO. ioredis puts a failed command's name and arguments on its error (`command`,
 * and on each of `previousErrors`): a refused AUTH (a password rotated or revoked while the
 * process runs, reconnecting) carried the password into every error line of the process.
 */
function serializeErr(err: unknown): unknown {
  return withoutRedisCredentials(pino.stdSerializers.err(err as Error), 0);
}

function withoutRedisCredentials(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null || depth > 3) return v;
  if (Array.isArray(v)) return v.map((x) => withoutRedisCredentials(x, depth + 1));
  const o = v as Record<string, unknown>;
  const command = o['command'] as { name?: unknown } | undefined;
  const hides = typeof command?.name === 'string' && CREDENTIAL_COMMANDS.test(command.name);
  if (!hides && !Array.isArray(o['previousErrors'])) return v;
  // copies: the error's own objects stay as they were
  return {
    ...o,
    ...(hides ? { command: { ...command, args: '[redacted]' } } : {}),
    ...(Array.isArray(o['previousErrors']) ? { previousErrors: withoutRedisCredentials(o['previousErrors'], depth + 1) } : {}),
  };
}

/**
 * The process's logger, made before its config is parsed (to report that): a LOG_LEVEL that is
 * not a level logs at `info` until the config check (LoggingEnv) stops the start. `jsonTo`
 * (tests) takes the JSON lines instead of stdout.
 */
export function createLogger(service: string, level = process.env['LOG_LEVEL']?.trim() || 'info', jsonTo?: DestinationStream): Logger {
  const options = {
    name: service,
    level: (LOG_LEVELS as readonly string[]).includes(level) ? level : 'info',
    base: { service, pid: process.pid },
    redact: ['req.headers.authorization', 'secret', '*.secret'],
    serializers: { err: serializeErr },
  };
  const json = { ...options, formatters: { level: (label: string) => ({ level: label }) } };
  if (jsonTo) return pino(json, jsonTo);
  if (logFormat(process.env['LOG_FORMAT'], process.stdout.isTTY === true) === 'json') return pino(json);
  return pino(options, pretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', sync: true }));
}

/**
 * A reporter for a source that repeats one failure many times a second (BullMQ's worker
 * 'error' event while Redis is away: ~10 lines a second, each with a stack). The first error
 * of a message is logged, the same message again within `everyMs` only counted, and the next
 * one after that is logged with `repeats` (how many were not). Redis being unreachable is a
 * warning without a stack (an outage, not a bug); anything else an error with its stack.
 */
export function throttledErrorLog(log: Logger, msg: string, everyMs = 10_000, now: () => number = Date.now): (err: unknown) => void {
  const seen = new Map<string, { at: number; repeats: number }>();
  return (err) => {
    const key = err instanceof Error ? err.message : String(err);
    const at = now();
    const last = seen.get(key);
    if (last && at - last.at < everyMs) {
      last.repeats++;
      return;
    }
    seen.delete(key);
    seen.set(key, { at, repeats: 0 });
    if (seen.size > 64) seen.delete(seen.keys().next().value!); // the oldest message
    const repeats = last?.repeats ? { repeats: last.repeats } : {};
    if (isRedisUnavailable(err)) log.warn({ err: key, ...repeats }, msg);
    else log.error({ err, ...repeats }, msg);
  };
}
