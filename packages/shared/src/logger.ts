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
import { LogThrottle } from './log-throttle.js';
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
/** Scripts: their keys are kept, their other arguments (a job's data, its inputs) are not. */
const SCRIPT_COMMANDS = /^(?:eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro)$/i;
/** What is kept of any other command's arguments: enough to tell which key, not a payload. */
const ARGS_KEPT = 8;
const ARG_CHARS = 80;

/** PURE: a failed command's arguments as logged: none of AUTH's or HELLO's, a script's keys only, the rest cut short. */
function loggedArgs(name: string, args: unknown): unknown {
  if (CREDENTIAL_COMMANDS.test(name)) return '[redacted]';
  if (!Array.isArray(args)) return args;
  const shown = (a: unknown) =>
    Buffer.isBuffer(a) || a instanceof Uint8Array ? `<${a.byteLength} bytes>`
    : typeof a === 'string' && a.length > ARG_CHARS ? `${a.slice(0, ARG_CHARS)}… (${a.length} characters)`
    : a;
  const keys = SCRIPT_COMMANDS.test(name) ? 2 + Math.max(0, Number(args[1]) || 0) : ARGS_KEPT;
  const kept = args.slice(0, Math.min(keys, ARGS_KEPT)).map(shown);
  return args.length > kept.length ? [...kept, `[${args.length - kept.length} more]`] : kept;
}

/**
 * PURE: an error as pino logs it (its standard serializer), but for a Redis command's
 * arguments. ioredis puts a failed command's name and arguments on its error (`command`), and
 * errors carry other errors (`previousErrors`, a cluster's `lastNodeError`, an AggregateError's
 * `aggregateErrors`): a refused AUTH (a password rotated or revoked while the process runs,
 * reconnecting) carried the password into every error line of the process, and a script that
 * failed (Redis gone mid-call) a job's data, inputs included (`loggedArgs`). A serializer must
 * not throw: on an error it cannot read, its name and message only.
 */
function serializeErr(err: unknown): unknown {
  try {
    return withoutRedisCredentials(pino.stdSerializers.err(err as Error), 0);
  } catch {
    const e = err as { name?: unknown; message?: unknown } | null;
    return { type: String(e?.name ?? typeof err), message: String(e?.message ?? '') };
  }
}

/** Nesting looked into (errors within errors), and the longest array looked through. */
const NESTING = 4;
const ARRAY_ITEMS = 64;

/** `v` with every Redis command in it (`command: {name, args}`, at any field, NESTING deep) shown as `loggedArgs` says; copies where it changes. */
function withoutRedisCredentials(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null || depth > NESTING || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) {
    if (v.length > ARRAY_ITEMS) return v;
    const mapped = v.map((x) => withoutRedisCredentials(x, depth + 1));
    return mapped.some((x, i) => x !== v[i]) ? mapped : v;
  }
  const o = v as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const [key, x] of Object.entries(o)) {
    const command = key === 'command' ? (x as { name?: unknown; args?: unknown } | null) : null;
    const y = typeof command?.name === 'string' ? { ...command, args: loggedArgs(command.name, command.args) } : withoutRedisCredentials(x, depth + 1);
    if (y !== x) (copy ??= { ...o })[key] = y;
  }
  return copy ?? o;
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
 * warning without a stack (an outage, not a bug), and so is a job's lock lost (`LOCK_LOST`: a
 * line a job, naming it, as a cut-off host's late completions are checked by); anything else an
 * error with its stack.
 */
export function throttledErrorLog(log: Logger, msg: string, everyMs = 10_000, now: () => number = Date.now): (err: unknown) => void {
  const throttle = new LogThrottle(everyMs, 64, now);
  return (err) => {
    const key = err instanceof Error ? err.message : String(err);
    const lockLost = LOCK_LOST.test(key);
    const repeats = throttle.pass(key);
    if (!repeats) return;
    if (lockLost) log.warn({ err: key, ...repeats }, `${msg}: a job this worker held was no longer its own: taken back (it froze, or lost Redis, past its liveness TTL or lock) to run elsewhere, or already ended by the same command, sent again after a reconnect; nothing to do`);
    else if (isRedisUnavailable(err)) log.warn({ err: key, ...repeats }, msg);
    else log.error({ err, ...repeats }, msg);
  };
}

/** BullMQ's words for a job whose lock this worker no longer holds (swept, or expired). */
const LOCK_LOST = /^(Missing lock for job|Lock mismatch for job|could not renew lock for job|Missing key for job)\b/;
