/** Redis connections: one place that knows how each role connects. */
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import { z } from 'zod';

/**
 * `redis://[user:pass@]host:port[/db]`, `rediss://` for TLS; `?cluster=true` connects to a
 * Redis Cluster through that node (the others are discovered).
 */
export const RedisUrl = z
  .string()
  .superRefine((u, ctx) => {
    const why = redisUrlProblem(u);
    if (why) ctx.addIssue({ code: 'custom', message: `REDIS_URL ${why}` });
  });

/**
 * PURE: what is wrong with a REDIS_URL, or undefined. ioredis reads what it can of any URL: one
 * without a host (`redis://`) connected to 127.0.0.1:6379, whoever answers there; `redis:host:6379`
 * failed later with a stack; a database that is not a number, or is on a cluster (which has only
 * database 0), failed at its SELECT.
 */
export function redisUrlProblem(url: string): string | undefined {
  if (!URL.canParse(url)) {
    // A password is where such URLs break most: `redis://:p@ss:w/rd@host` (an audit).
    const hint = url.includes('@') ? ': a user name or password must have @ : / # ? % percent-encoded, as %40 %3A %2F %23 %3F %25' : '';
    return `must be redis://host[:port][/db] or rediss://… (not a URL${hint})`;
  }
  const u = new URL(url);
  if (!/^rediss?:$/.test(u.protocol)) return 'must be redis:// or rediss://';
  if (!u.hostname) return 'names no host (redis://host[:port][/db])';
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,5}$/.test(db)) return `names database "${db}": a database is a number (redis://host:port/0)`;
  if (Number(db) > 0 && u.searchParams.get('cluster') === 'true') return 'names a database other than 0 with ?cluster=true: a Redis Cluster has database 0 only';
  return undefined;
}

/** The database REDIS_URL names (0 when it names none). */
const databaseOf = (url: string): number => Number(new URL(url).pathname.replace(/^\//, '') || 0);

export const isClusterUrl = (url: string): boolean => new URL(url).searchParams.get('cluster') === 'true';

/**
 * A client for `url`: a plain connection, or a Cluster client for `?cluster=true` URLs.
 * Every key the service uses is laid out for Cluster (hash tags keep what one command or
 * script touches in one slot), and a Cluster client answers the same commands, so callers
 * type it as `Redis`.
 */
export function createRedis(url: string, options: RedisOptions): Redis {
  if (!isClusterUrl(url)) return new Redis(url, options);
  const u = new URL(url);
  const { enableOfflineQueue, lazyConnect, ...nodeOptions } = options;
  const cluster = new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
    enableOfflineQueue: enableOfflineQueue ?? true,
    lazyConnect: lazyConnect ?? false,
    clusterRetryStrategy: retryStrategy,
    // A connection that waits for Redis (maxRetriesPerRequest null: workers, BullMQ) waits through
    // a master's restart or failover too, as it does for a lone Redis: ioredis's own bound (16
    // redirections 100 ms apart) failed a worker's completion of a job 1.6 s into a restart,
    // and the job waited out its lock (30 s) before it ran again.
    ...(nodeOptions.maxRetriesPerRequest === null ? CLUSTER_WAITS : {}),
    redisOptions: {
      ...nodeOptions,
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(u.protocol === 'rediss:' ? { tls: { checkServerIdentity: clusterNodeIdentity(u.hostname), ...nodeOptions.tls } } : {}),
    },
  });
  return cluster as unknown as Redis;
}

/** How a waiting cluster connection retries a slot whose master is down: every 200 ms for a minute. */
export const CLUSTER_WAITS = { retryDelayOnFailover: 200, retryDelayOnClusterDown: 200, retryDelayOnTryAgain: 200, maxRedirections: 300 } as const;

/**
 * A TLS cluster node's certificate check: it names the address the node was reached at, or
 * REDIS_URL's host. A cluster announces its nodes by address (CLUSTER SLOTS), which its
 * certificates seldom name: a managed cluster's name its endpoint (ElastiCache's
 * `*.….cache.amazonaws.com`, Azure's `*.redis.cache.windows.net`), so every node after the
 * first, and the first too once ioredis has resolved its name, failed Node's check
 * (ERR_TLS_CERT_ALTNAME_INVALID; e2e redis-cluster.tls). The chain is checked as before.
 */
function clusterNodeIdentity(urlHost: string): ConnectionOptions['checkServerIdentity'] {
  const endpoint = urlHost.replace(/^\[(.*)\]$/, '$1'); // an IPv6 address without its brackets
  return (host, cert) => checkServerIdentity(host, cert) && checkServerIdentity(endpoint, cert);
}

export type RedisRole =
  /** request/response commands that should fail fast (503) while Redis is down */
  | 'api'
  /** BullMQ workers and subscribers: wait and retry forever, never drop a command */
  | 'worker';

/**
 * No connection here is auto-pipelined (ioredis `enableAutoPipelining`). It sends one pipeline
 * at a time on a connection and holds every later command until that one is answered, so under
 * the API's command timeout a Redis that stopped answering failed requests 5, 10, 15 and 20 s
 * after they came, each pipeline in turn waiting out the one before (a network audit; measured
 * again with a paused redis-server: a command of the next turn timed out at 10 s). Sent as they
 * come, each command's 5 s count from when it was sent. It bought nothing measurable here
 * (413 vs 407 and 321 vs 333 jobs/s, BENCHMARKS.md), and on a connection BullMQ uses each
 * auto-pipeline copied its 64 scripts (75 µs a write against 5 µs).
 */

/** The longest wait between two attempts to reconnect (see `reconnectDelay`). */
export const RECONNECT_MAX_MS = 1000;

/**
 * PURE but for its jitter: how long a lost connection waits before its `times`th attempt: 50 ms,
 * doubling, at most RECONNECT_MAX_MS, plus up to 100 ms so that a process's connections do not
 * all knock at once. ioredis's default doubles up to 5 s: after an outage of 8 s the API's
 * connections came back 3-9 s after Redis did, answering 503 meanwhile (measured). An attempt
 * against a Redis that is down is a refused or timed-out connect: one a second costs nothing.
 */
export function reconnectDelay(times: number, jitter = Math.random()): number {
  return Math.min(50 * 2 ** Math.max(0, times - 1), RECONNECT_MAX_MS) + Math.floor(jitter * 100);
}

/** ioredis's `retryStrategy` of every connection here (it is called with the attempt's number only). */
const retryStrategy = (times: number): number => reconnectDelay(times);

/** A connection handed to a BullMQ Worker (which duplicates it for its blocking fetch): it waits and retries forever, and comes back as soon as Redis does. */
export function bullmqConnectionOptions(name: string): RedisOptions {
  return { maxRetriesPerRequest: null, connectionName: name, retryStrategy };
}

/**
 * How long an API command waits for Redis's answer before it fails (ioredis `commandTimeout`):
 * a Redis that holds its connections open without answering (paused, swapping, a network
 * that drops packets) is answered 503 as an unreachable one is, not after the request's idle
 * timeout with no answer at all (an OpenAPI audit: every Redis-backed route hung 120 s).
 * A worker's connections have none: they wait for Redis, as BullMQ's blocking fetch must.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 5000;

export function redisOptions(role: RedisRole): RedisOptions {
  return role === 'api'
    ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5000, commandTimeout: REDIS_COMMAND_TIMEOUT_MS, lazyConnect: true, retryStrategy }
    : { maxRetriesPerRequest: null, enableOfflineQueue: true, connectTimeout: 5000, lazyConnect: true, retryStrategy };
}

/** A connected client; rejects when Redis cannot be reached within the connect timeout. */
export async function connectRedis(url: string, role: RedisRole, name: string, overrides: RedisOptions = {}): Promise<Redis> {
  const client = createRedis(url, { ...redisOptions(role), connectionName: name, ...overrides });
  // Errors are surfaced by the commands that hit them; an unhandled 'error' event would crash.
  // The last one before a failed connect is why it failed (a refused AUTH, a certificate not
  // trusted): connect() itself rejects with only "Connection is closed". A cluster's: why its
  // node refuses (whyNodeRefuses).
  let why: unknown;
  client.on('error', (err) => (why = err));
  try {
    await connectedOrSilent(client, url);
    // ioredis selects REDIS_URL's database as it connects, and on a refusal (a number past the
    // server's `databases`) went on in database 0, beside whatever else uses it: asked again here, a refusal fails start-up.
    const db = client instanceof Cluster ? 0 : databaseOf(url);
    if (db > 0) await client.select(db);
  } catch (err) {
    client.disconnect();
    const cause = err instanceof SilentRedisError ? err : (client instanceof Cluster ? await whyNodeRefuses(client, url) : undefined) ?? why ?? err;
    throw new Error(`cannot reach Redis at ${withoutCredentials(url)} (REDIS_URL; connection ${name})`, { cause }); // its message follows in logs
  }
  return client;
}

/** How long a connect may take before start-up asks whether Redis answers at all (`connectedOrSilent`). */
const CONNECT_CHECK_MS = 5000;

/**
 * `client.connect()`, unless Redis accepts the connection and answers nothing (frozen, paused,
 * behind a network that drops packets): ioredis's connectTimeout ends at the TCP connect, and
 * its ready check then waits without end, so a process started against such a Redis waited
 * silently. Each CONNECT_CHECK_MS the connect has not ended, a connection of its own sends a
 * PING: any reply (a Redis still loading its data answers `LOADING`) lets the connect go on
 * waiting; none within 2 s rejects, and start-up fails as for a refused connection.
 */
async function connectedOrSilent(client: Redis, url: string): Promise<void> {
  const connecting = client.connect();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      connecting.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CONNECT_CHECK_MS))),
    ]).finally(() => clearTimeout(timer));
    if (!waited) return;
    if (!(await answersAtAll(client, url))) {
      connecting.catch(() => {}); // it ends with the disconnect that follows
      throw new SilentRedisError();
    }
  }
}

/** Redis accepted the connection and answered nothing (`connectedOrSilent`). */
class SilentRedisError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor() {
    super(`Redis accepts connections but answers nothing (a PING went unanswered for ${PROBE_MS} ms): frozen, paused, or a network that drops packets`);
    this.name = 'SilentRedisError';
  }
}

const PROBE_MS = 2000;

/**
 * A connection of its own to REDIS_URL's node (a cluster's: the node REDIS_URL names) with
 * `client`'s settings (password, TLS), for start-up's questions: it connects once, without a
 * ready check or retries, and its replies are asked for with a deadline (`answeredWithin`).
 */
function probeConnection(client: Redis | Cluster, url: string, connectTimeout: number): Redis {
  const u = new URL(url);
  const base = client instanceof Cluster ? { ...client.options.redisOptions, host: u.hostname, port: Number(u.port || 6379) } : client.options;
  return new Redis({
    ...base, connectionName: 'maas:start-up-check', enableReadyCheck: false, enableAutoPipelining: false,
    lazyConnect: true, connectTimeout, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: true,
  });
}

/** Whether the server `client` connects to (REDIS_URL's node, for a cluster) replies to a PING within PROBE_MS, with anything. */
async function answersAtAll(client: Redis, url: string): Promise<boolean> {
  const probe = probeConnection(client, url, PROBE_MS);
  probe.on('error', () => {});
  try {
    await answeredWithin(probe.connect().then(() => probe.ping()), PROBE_MS, 'a start-up PING');
    return true;
  } catch (err) {
    return err instanceof Error && err.name === 'ReplyError'; // refused (LOADING, NOAUTH): it answers
  } finally {
    probe.disconnect();
  }
}

/**
 * Why REDIS_URL's node refuses what `cluster` asks it first, or undefined if it does not (it
 * answers CLUSTER SLOTS within 5 s). A Cluster client that cannot connect says only 'Failed to
 * refresh slots cache.' / 'None of startup nodes is available': ioredis asks CLUSTER SLOTS on a
 * connection of its own whose errors it drops (an untrusted certificate was only 'Connection is
 * closed.'; e2e redis-cluster.tls), so one plain connection asks again: a refused connection, a
 * password or certificate refused, a server without cluster mode, a user denied CLUSTER.
 */
async function whyNodeRefuses(cluster: Cluster, url: string): Promise<unknown> {
  const probe = probeConnection(cluster, url, PROBE_MS);
  let why: unknown;
  probe.on('error', (err) => (why ??= err));
  try {
    await answeredWithin(probe.connect().then(() => probe.call('CLUSTER', 'SLOTS')), 5000, 'CLUSTER SLOTS at start-up'); // a node that answers nothing must not hold start-up
    return undefined;
  } catch (err) {
    return why ?? err;
  } finally {
    probe.disconnect();
  }
}

/** A Redis URL as it may be logged: without its user and password. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return '(an unparsable REDIS_URL)';
  }
}

/**
 * Replies with which Redis refuses writes for a while (the error's message starts with the
 * code, or names it after a Lua script's "ERR Error running script" preamble): out of memory
 * under `noeviction`, a read-only replica (a failover in progress), a failed RDB save
 * (`stop-writes-on-bgsave-error`), no reachable master.
 */
const REFUSING = /(?:^|[\s:-])(?:OOM command not allowed|READONLY|MISCONF|MASTERDOWN|NOREPLICAS|TRYAGAIN)\b/;

/**
 * Why Redis cannot serve us right now, or undefined for an error that is not Redis's state (a bug, bad input).
 * A MULTI whose commands Redis refused is an `EXECABORT` error: the reason is in the errors of
 * the commands (ioredis's `previousErrors`), read here as the first of them that says one.
 */
export function redisUnavailableReason(err: unknown): 'unreachable' | 'silent' | 'out-of-memory' | 'read-only' | 'refusing-writes' | undefined {
  if (!(err instanceof Error)) return undefined;
  const previous = (err as { previousErrors?: unknown }).previousErrors;
  if (/^EXECABORT\b/.test(err.message) && Array.isArray(previous)) {
    for (const e of previous) {
      const reason = redisUnavailableReason(e);
      if (reason) return reason;
    }
    return undefined;
  }
  if (isCommandTimeout(err)) return 'silent';
  const code = (err as NodeJS.ErrnoException).code;
  if (
    err.name === 'MaxRetriesPerRequestError' ||
    code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'EPIPE' ||
    // Its name not found, for now: Docker's DNS drops a stopped container's name, a headless Service's while its pod is not ready.
    code === 'ENOTFOUND' || code === 'EAI_AGAIN' ||
    err.name === 'ClusterAllFailedError' ||
    /enableOfflineQueue|Connection is closed|Stream isn't writeable|connect ETIMEDOUT|LOADING|Reached the max retries|Cluster isn't ready|CLUSTERDOWN|refresh slots cache|Too many Cluster redirections/i.test(err.message)
  ) return 'unreachable';
  const refused = REFUSING.exec(err.message)?.[0].replace(/^[\s:-]/, '');
  if (!refused) return undefined;
  return refused.startsWith('OOM') ? 'out-of-memory' : refused === 'READONLY' ? 'read-only' : 'refusing-writes';
}

/**
 * True for a command Redis did not answer within REDIS_COMMAND_TIMEOUT_MS (ioredis's
 * `commandTimeout`). Unlike a refused connection, what it asked may still be done: it went
 * out, and Redis runs it once it answers again.
 */
export function isCommandTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === 'Command timed out';
}

/**
 * A MULTI's or pipeline's replies, in order, or the first of its commands' errors thrown
 * (ioredis resolves `exec` with an [error, reply] pair a command).
 */
export async function execReplies(commands: ChainableCommander): Promise<unknown[]> {
  const results = (await commands.exec()) ?? [];
  const failed = results.find(([err]) => err)?.[0];
  if (failed) throw failed;
  return results.map(([, reply]) => reply);
}

/**
 * The error to log when Redis may evict keys (`maxmemory-policy` other than `noeviction`), or
 * undefined: with eviction a full Redis drops jobs, batches' chunks and outbox entries without
 * an error (a Redis audit: accepted jobs then read 404, a batch stayed running for good), and
 * BullMQ only prints a line of plain text among the JSON logs. Read from INFO, which managed
 * services allow where CONFIG is refused; undefined too when it cannot be read.
 */
export async function evictionPolicyProblem(redis: Redis): Promise<string | undefined> {
  const info = await redis.info('memory').catch(() => '');
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  if (policy === undefined || policy === 'noeviction') return undefined;
  return `Redis's maxmemory-policy is ${policy}: it may evict jobs, batch chunks and webhook events when full, losing them without an error; set maxmemory-policy noeviction (then a full Redis refuses new work with 503s instead)`;
}

/**
 * How long `whileRefused` tries a write again while Redis refuses writes, before its error is
 * thrown: under a job lock's 30 s (WORKER_LOCK_MS), whose renewals Redis refuses meanwhile too,
 * so the job is not taken for stalled and run again elsewhere while its outcome waits.
 */
export const REFUSED_RETRY_MS = 20_000;

/**
 * `write()`, tried again while Redis refuses writes for a while (out of memory under
 * `noeviction`, a read-only replica mid-failover, MISCONF): 100 ms apart, doubling to 2 s, for
 * up to `withinMs` in all; then its error. For a record whose content is already made (a run's
 * outcome): without it, each refusal cost its job an attempt and a re-run, and three seconds
 * of a full Redis ended jobs failed with Redis's own message (a Redis audit). A Lua script is
 * safe to send again: Redis refuses a script's writes under OOM only before its first one, so
 * a refused script wrote nothing. An unreachable Redis needs none of this (ioredis holds
 * commands until it is back), and any other error is thrown at once.
 */
export async function whileRefused<T>(write: () => Promise<T>, withinMs = REFUSED_RETRY_MS, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): Promise<T> {
  const started = Date.now();
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await write();
    } catch (err) {
      if (!refusesWrites(err) || Date.now() - started + delay > withinMs) throw err;
      await sleep(delay);
    }
  }
}

/**
 * True when Redis answered but refuses writes for a while (out of memory under `noeviction`,
 * read-only, MISCONF): a write is worth sending again once it takes them. Not an unreachable
 * Redis (ioredis holds commands until it is back), nor a silent one (what timed out may still
 * be done), nor any other error.
 */
export function refusesWrites(err: unknown): boolean {
  const reason = redisUnavailableReason(err);
  return reason !== undefined && reason !== 'unreachable' && reason !== 'silent';
}

/** True for errors that mean "Redis cannot serve this right now, retry later" rather than a bug. */
export function isRedisUnavailable(err: unknown): boolean {
  return redisUnavailableReason(err) !== undefined;
}

/**
 * Settles as `p` does, or rejects after `ms` with an error isRedisUnavailable reads as
 * unreachable: to a probe or a scrape, a Redis that holds its connections open without
 * answering (paused, swapping) is as good as gone, and they must answer all the same.
 */
export function answeredWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`Redis did not answer ${what} within ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * Arguments (keys, fields) one command carries at most when a list of unbounded length is sent:
 * one command of about 60,000 overflows ioredis's stack on an auto-pipelined connection, and
 * the error that follows escapes its promise and ends the process (measured, round 18).
 */
export const ARGS_A_COMMAND = 2000;

/** Calls `send` with `items` ARGS_A_COMMAND at a time, in order, each call after the last has answered. */
export async function sendInSlices<T>(items: readonly T[], send: (slice: T[]) => Promise<unknown>): Promise<void> {
  for (let at = 0; at < items.length; at += ARGS_A_COMMAND) await send(items.slice(at, at + ARGS_A_COMMAND));
}

/**
 * The keys matching `pattern` (a Redis glob), by `SCAN` in pages of `count`: on every master of
 * a Redis Cluster (a cluster's keys are spread over them), else on the one server. A key may
 * come twice (SCAN's guarantee); callers that care collect them in a set.
 */
export async function* scanKeys(redis: Redis, pattern: string, count = 1000): AsyncGenerator<string> {
  const servers = redis instanceof Cluster ? (redis as Cluster).nodes('master') : [redis];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      yield* keys;
    } while (cursor !== '0');
  }
}
