/**
 * QueuedRowsQuota: how many rows each tenant has waiting, across every model and every API
 * instance, for the queued-rows quota (jobs and batch chunks alike).
 *
 * Per tenant one Redis hash: `total`, and per queued BullMQ job `<queue>|<jobId>` (per member
 * of a carrier job, `<queue>|<carrierId>#<memberId>`: memberEntryId) → rows and when they were reserved. A reservation is one script (RESERVE_LUA): it adds the rows unless
 * they would pass the limit, so concurrent requests on several API instances cannot overshoot.
 * Nothing in the worker has to report back: rows leave the tally when `reconcile` finds their
 * job started, finished, ended while queued or gone (BullMQ sets `processedOn` when a job turns active; a batch
 * chunk's job is removed as it completes, its outcome then in the batch's `chunks` hash). That
 * runs when a reservation is refused (at most once a second per tenant and process; a refusal
 * while one is under way waits for it), and every RECONCILE_MS per tenant otherwise, so the hash
 * stays about as large as the tenant's queue and a crash cannot leak rows for long. Its cost:
 * one read of the tenant's entries and one field read per queued job.
 *
 * Modes: with no rows limit configured anywhere the tally is not used at all (no cost).
 */
import type { Redis } from 'ioredis';
import { clusterNow, AppError, batchKeys, bullJobKey, chunkOfJobId, QuotaExceededError, sendInSlices, tenantRowsKey, type Logger } from '@maas/shared';

export interface LedgerEntry {
  queue: string;
  jobId: string;
  rows: number;
  /**
   * A job: queued even past the quota when the tenant has nothing queued, so a job larger than
   * the quota is not refused forever. Not a batch chunk: a batch can be sent in smaller ones,
   * and its upload is refused once it passes the quota (the first chunk too).
   */
  job?: boolean;
}

/** Reserve before enqueueing; release when enqueueing failed, or when queued rows end without a worker (cancel, expiry, an upload withdrawn). */
export interface Admission {
  reserve(tenant: string, entry: LedgerEntry): Promise<void>;
  release(tenant: string, entries: LedgerEntry[]): Promise<void>;
}

const RECONCILE_MS = 10_000;
/** After a refusal, look again at most this often (a tenant hammering at its quota must not make every request a full reconcile). */
const RECONCILE_ON_REFUSAL_MS = 1000;
/** A reservation this young whose job is not in Redis yet is being enqueued, not gone. */
const ENQUEUE_GRACE_MS = 60_000;
/** The tally outlives its last change by this much (a tenant gone quiet leaves nothing behind). */
const LEDGER_TTL_S = 7 * 24 * 3600;
const RETRY_AFTER_S = 2;

/**
 * KEYS[1] tally; ARGV: limit, field, rows, now, ttl, job (1 or 0). Returns -1 when reserved,
 * else the rows queued. A tenant with nothing queued may always queue one job, so a job larger
 * than the quota is not refused forever (LedgerEntry `job`).
 */
const RESERVE_LUA = `
local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
local rows = tonumber(ARGV[3])
if (total > 0 or ARGV[6] ~= '1') and total + rows > tonumber(ARGV[1]) then return total end
if redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3] .. ':' .. ARGV[4]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'total', rows)
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return -1
`;

/** KEYS[1] tally; ARGV: fields to drop. Each drop gives its rows back, once. */
const DROP_LUA = `
local n = 0
for i = 1, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('HINCRBY', KEYS[1], 'total', -tonumber(string.match(v, '^[0-9]+')))
    n = n + 1
  end
end
return n
`;

const field = (e: Pick<LedgerEntry, 'queue' | 'jobId'>) => `${e.queue}|${e.jobId}`;

/**
 * The ledger's `jobId` of a member of a carrier job (job-packer.ts): each member holds its own
 * rows, reserved and released as a job alone would (`#` is in no job id). Its rows leave the
 * tally as its carrier's do (reconcile reads the carrier).
 */
export const memberEntryId = (carrierId: string, memberId: string): string => `${carrierId}#${memberId}`;
/** The BullMQ job an entry's rows wait in: the job, or a member's carrier. */
const bullIdOf = (entryJobId: string): string => entryJobId.split('#', 1)[0]!;

export class QueuedRowsQuota implements Admission {
  private readonly lastReconcile = new Map<string, number>();
  /** a reconcile under way, by tenant: a refusal waits for it rather than answer from a count it is correcting */
  private readonly reconciling = new Map<string, Promise<void>>();

  constructor(
    private readonly redis: Redis,
    /** the tenant's rows limit; 0 = none */
    private readonly limitOf: (tenant: string) => number,
    private readonly log: Logger,
  ) {}

  async reserve(tenant: string, entry: LedgerEntry): Promise<void> {
    const limit = this.limitOf(tenant);
    if (limit <= 0) return;
    this.maybeReconcile(tenant);
    let queued = await this.tryReserve(tenant, entry, limit);
    if (queued < 0) return;
    // The count may hold rows that have run since: look (again) before refusing.
    const underWay = this.reconciling.get(tenant);
    if (underWay || Date.now() - (this.lastReconcile.get(tenant) ?? 0) >= RECONCILE_ON_REFUSAL_MS) {
      await (underWay ? underWay.catch(() => undefined) : this.reconcile(tenant));
      queued = await this.tryReserve(tenant, entry, limit);
    }
    if (queued < 0) return;
    // A batch chunk larger than the quota alone never fits, however long one waits: not a 429.
    if (!entry.job && entry.rows > limit) {
      throw new AppError('payload-too-large', `tenant ${tenant}'s quota is ${limit} queued rows, and this batch upload's next ${entry.rows} rows pass it alone: send the batch in parts of at most ${limit} rows`, { queued_rows: queued, quota_rows: limit });
    }
    throw new QuotaExceededError(tenant, queued, limit, RETRY_AFTER_S);
  }

  private async tryReserve(tenant: string, e: LedgerEntry, limit: number): Promise<number> {
    return Number(await this.redis.eval(RESERVE_LUA, 1, tenantRowsKey(tenant), limit, field(e), e.rows, clusterNow(), LEDGER_TTL_S, e.job ? '1' : '0'));
  }

  async release(tenant: string, entries: LedgerEntry[]): Promise<void> {
    if (this.limitOf(tenant) <= 0 || entries.length === 0) return;
    // An upload's chunks can be tens of thousands: sent in slices (shared redis.ts).
    await sendInSlices(entries.map(field), (fields) => this.redis.eval(DROP_LUA, 1, tenantRowsKey(tenant), ...fields));
  }

  /** Rows the tally holds for `tenant` now. */
  async queued(tenant: string): Promise<number> {
    return Number((await this.redis.hget(tenantRowsKey(tenant), 'total')) ?? 0);
  }

  private maybeReconcile(tenant: string): void {
    const now = Date.now();
    if (now - (this.lastReconcile.get(tenant) ?? 0) < RECONCILE_MS) return;
    this.lastReconcile.set(tenant, now);
    void this.reconcile(tenant).catch((err: unknown) => this.log.warn({ err, tenant }, 'queued-rows reconcile failed'));
  }

  /** Drops the rows whose job has started, finished or disappeared (one reconcile at a time a tenant and process). */
  reconcile(tenant: string): Promise<void> {
    const underWay = this.reconciling.get(tenant);
    if (underWay) return underWay;
    const run = this.reconcileNow(tenant).finally(() => this.reconciling.delete(tenant));
    this.reconciling.set(tenant, run);
    return run;
  }

  private async reconcileNow(tenant: string): Promise<void> {
    this.lastReconcile.set(tenant, Date.now());
    const key = tenantRowsKey(tenant);
    const all = await this.redis.hgetall(key);
    const byQueue = new Map<string, { f: string; jobId: string; at: number }[]>();
    for (const [f, v] of Object.entries(all)) {
      const bar = f.indexOf('|');
      if (bar < 0) continue; // `total`
      const queue = f.slice(0, bar);
      const list = byQueue.get(queue) ?? [];
      list.push({ f, jobId: f.slice(bar + 1), at: Number(v.split(':')[1] ?? 0) });
      byQueue.set(queue, list);
    }
    const gone: string[] = [];
    const now = clusterNow(); // entries are stamped on it, by whichever API reserved them
    for (const [queue, list] of byQueue) {
      // One pipeline per queue: a queue's keys share one Redis Cluster slot.
      const pipe = this.redis.pipeline();
      for (const e of list) pipe.hmget(bullJobKey(queue, bullIdOf(e.jobId)), 'timestamp', 'processedOn', 'ended');
      const replies = (await pipe.exec()) ?? [];
      const missing: typeof list = [];
      list.forEach((e, i) => {
        const [created, processed, ended] = (replies[i]?.[1] as (string | null)[] | undefined) ?? [null, null, null];
        // `ended`: the tally ended it while queued (a cancel, an expiry): it will never run.
        if (processed !== null || ended !== null || (created === null && now - e.at > ENQUEUE_GRACE_MS)) gone.push(e.f);
        else if (created === null) missing.push(e);
      });
      // A young entry without its job is being enqueued, or is a batch chunk that ran and was
      // removed at once: its outcome recorded in its batch says which.
      const ran = await Promise.all(missing.map((e) => {
        const c = chunkOfJobId(e.jobId);
        return c ? this.redis.hexists(batchKeys(c.batchId).chunks, String(c.chunk)) : 0;
      }));
      missing.forEach((e, i) => ran[i] === 1 && gone.push(e.f));
    }
    await sendInSlices(gone, (fields) => this.redis.eval(DROP_LUA, 1, key, ...fields));
  }
}
