/**
 * The data epoch: how each API and worker process notices that the Redis it talks to no longer
 * holds the data it saw. Redis restarted without persistence (or FLUSHALL) comes back empty;
 * one restored from a backup comes back as it was then; either way every process reconnects
 * and carries on, and nothing else would say that jobs, batches, idempotency keys, webhook
 * retries and tenant webhook secrets were lost or rolled back.
 *
 * A sentinel hash (DATA_EPOCH_KEY) holds a random id, when it was made, and `seq`, which every
 * check increments. The first process to look makes it. Each process keeps its last reading
 * and compares: the sentinel gone (made anew by this check, or by another process since this
 * one last looked) means Redis came back empty; another id, a copy of other data; the same id
 * with a `seq` not above the one last read, an older snapshot of the same data (one taken
 * before this process's last check, CLUSTER_CLOCK_SYNC_MS ago at most). Each change is logged
 * once, as an error, and counted (`maas_redis_data_resets_total`).
 *
 * The check rides on the cluster clock's TIME read (same round trip: a ClockRider), which
 * runs every CLUSTER_CLOCK_SYNC_MS and again as the connection comes back ('ready'); the job
 * path never reads it.
 */
import type { ChainableCommander } from 'ioredis';
import { customAlphabet } from 'nanoid';
import type { ClockRider } from './cluster-clock.js';
import { clusterNow } from './cluster-clock.js';
import type { Logger } from './logger.js';
import { DATA_EPOCH_KEY } from './queues.js';

/** Reads the sentinel, making it (ARGV: id, created_at) when missing; returns {existed, id, created_at, seq}. */
export const EPOCH_LUA = `
local v = redis.call('HMGET', KEYS[1], 'id', 'created_at')
if not v[1] then
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'created_at', ARGV[2], 'seq', 1)
  return {0, ARGV[1], ARGV[2], 1}
end
return {1, v[1], v[2] or '0', redis.call('HINCRBY', KEYS[1], 'seq', 1)}
`;

export interface EpochReading {
  /** false: this check made the sentinel */
  existed: boolean;
  id: string;
  createdAt: number;
  seq: number;
}

/** What happened to Redis's data between two readings. */
export type EpochChange = 'emptied' | 'replaced' | 'rolled-back';

const CLOCK_SLACK_MS = 1000;

/**
 * PURE: what `now` says against `last`, read at `lastAt` (cluster ms); undefined when nothing
 * changed, or on a process's first reading (nothing to compare: a new cluster, an upgrade).
 * A sentinel made since `lastAt` by another process is an emptied Redis too, as seen second
 * (within CLOCK_SLACK_MS: the processes' readings of the cluster clock differ by a few ms).
 */
export function epochChange(last: EpochReading | undefined, lastAt: number, now: EpochReading): EpochChange | undefined {
  if (!last) return undefined;
  if (!now.existed || (now.id !== last.id && now.createdAt >= lastAt - CLOCK_SLACK_MS)) return 'emptied';
  if (now.id !== last.id) return 'replaced';
  return now.seq <= last.seq ? 'rolled-back' : undefined;
}

const LOST = 'jobs (queued, running and finished), their results, batches, idempotency keys, pending webhook retries and tenant webhook secrets';

/** The error logged for each change: what it means (README "Losing or restoring Redis"). */
export const EPOCH_CHANGE_MESSAGES: Record<EpochChange, string> = {
  emptied: `Redis came back empty (its data epoch was gone): the ${LOST} it held are lost; tenant secrets this process still knows are written back as they are read, others are made anew`,
  replaced: `Redis holds another copy of the data (its data epoch changed: restored from another backup?): ${LOST} written since that copy was made are lost or rolled back`,
  'rolled-back': `Redis went back to an older snapshot of its data (its data epoch's counter went back): ${LOST} written since are lost or rolled back; jobs finished since may run again and their webhooks be delivered again`,
};

const epochId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 16);

/** One process's watch on the data epoch; `onChange` counts each change (the metric). */
export class DataEpoch implements ClockRider {
  private last: EpochReading | undefined;
  private lastAt = 0;
  private failing = false;

  constructor(private readonly log: Logger, private readonly onChange: (change: EpochChange) => void = () => {}) {}

  /** The epoch as last read (undefined before the first reading). */
  get current(): EpochReading | undefined {
    return this.last;
  }

  board(p: ChainableCommander): void {
    p.eval(EPOCH_LUA, 1, DATA_EPOCH_KEY, epochId(), String(clusterNow()));
  }

  arrive(err: Error | null, reply: unknown): void {
    if (err) {
      // Its script writes: a Redis out of memory or read-only (a failover) refuses it. Said once a spell.
      if (!this.failing) this.log.warn({ err: err.message }, 'the data epoch could not be checked (Redis refuses writes?): checked again with the clock');
      this.failing = true;
      return;
    }
    this.failing = false;
    const [existed, id, createdAt, seq] = reply as [number, string, string, number];
    const reading: EpochReading = { existed: existed === 1, id, createdAt: Number(createdAt) || 0, seq: Number(seq) || 0 };
    const change = epochChange(this.last, this.lastAt, reading);
    if (change) {
      this.log.error({ data_epoch: { change, id, created_at: new Date(reading.createdAt).toISOString(), previous_id: this.last?.id } }, EPOCH_CHANGE_MESSAGES[change]);
      this.onChange(change);
    } else if (!this.last && !reading.existed) {
      this.log.info({ data_epoch: { id } }, 'Redis data epoch created (a new Redis, or one from before the data epoch)');
    }
    this.last = reading;
    this.lastAt = clusterNow();
  }
}
