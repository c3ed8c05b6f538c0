/**
 * CanceledBatchSweeper: a canceled batch ends even when a worker died holding one of its
 * chunks and no live worker serves the model. A cancel withdraws the chunks still queued and
 * leaves those a worker holds to that worker, which ends them canceled (or as they ran); until
 * the last one ends, the batch reads `canceled` without `completed_at`. A worker killed
 * meanwhile (before the cancel or after it) would leave its chunk to whichever worker next
 * takes the chunk up, which with none for the model is never: the batch, its results and its
 * batch.completed waited for ever.
 *
 * The cancel lists the batch in CANCELED_BATCHES_KEY; every SWEEP_MS each API process takes
 * the entries due (one process an entry: due-entries.ts), looks at the batch
 * (BatchService.finishCancel) and, while it has not completed, again CANCELED_LOOK_AGAIN_MS later. A look
 * reads which workers hold its chunks without an outcome (BullMQ's `pb`), drops the locks of
 * those whose liveness has run out (WorkerDirectory.expired: WORKER_ALIVE_TTL_MS after a kill,
 * as live workers' sweepers release a dead worker's jobs), and withdraws and records canceled
 * every such chunk no worker holds, through the cancel's own path (RECORD_CHUNKS_LUA: the first
 * outcome of a chunk stays, and the call that records the last one completes the batch and
 * queues its batch.completed, once). A lock that expired on its own (a worker of a release that
 * does not beat, or one forgotten) frees its chunk the same way. Nothing is read while no batch
 * waits: one ZRANGEBYSCORE a sweep.
 */
import type { Redis } from 'ioredis';
import { clusterNow, bullJobKey, bullLockKey, CANCELED_BATCHES_KEY, Periodic, sendInSlices, type Logger } from '@maas/shared';
import { CANCELED_LOOK_AGAIN_MS, type BatchService } from './batches.js';
import { dueIds, takeDue } from './due-entries.js';
import type { WorkerDirectory } from './workers.js';

export const SWEEP_MS = 1000;
/** Batches one sweep looks at at most (the next sweep takes the rest). */
const PER_SWEEP = 50;

/**
 * KEYS: per chunk job, its hash then its lock (one queue: one hash slot). ARGV: dead worker ids.
 * Drops the lock of each job still held by one of them (BullMQ's processedBy, `pb`), checked
 * here so a job another worker has taken since is left alone. Returns how many it dropped.
 */
const RELEASE_DEAD_LUA = `
local dead = {}
for i = 1, #ARGV do dead[ARGV[i]] = true end
local n = 0
for i = 1, #KEYS, 2 do
  local by = redis.call('HGET', KEYS[i], 'pb')
  if by and dead[by] and redis.call('DEL', KEYS[i + 1]) == 1 then n = n + 1 end
end
return n
`;

export class CanceledBatchSweeper {
  private readonly timer: Periodic;

  constructor(
    private readonly redis: Redis,
    private readonly batches: Pick<BatchService, 'finishCancel'>,
    private readonly workers: Pick<WorkerDirectory, 'expired'>,
    private readonly log: Logger,
  ) {
    this.timer = new Periodic(() => this.sweep(), SWEEP_MS, (err, failures) => log.warn({ err, failures }, 'canceled-batch sweep failed; retried at the next'));
  }

  start(): this {
    this.timer.start();
    return this;
  }

  /** Looks at the canceled batches due by `now`; resolves with how many of them have completed (and left the set). */
  async sweep(now = clusterNow()): Promise<number> {
    let ended = 0;
    for (const id of await dueIds(this.redis, CANCELED_BATCHES_KEY, now, PER_SWEEP)) {
      if (!(await takeDue(this.redis, CANCELED_BATCHES_KEY, id, now, clusterNow() + CANCELED_LOOK_AGAIN_MS))) continue; // another API took it
      if (!(await this.batches.finishCancel(id, (queue, jobIds) => this.releaseDead(queue, jobIds)))) continue;
      await this.redis.zrem(CANCELED_BATCHES_KEY, id);
      ended++;
    }
    return ended;
  }

  /** Drops the locks of those of `jobIds` (jobs of `queue`) whose worker's liveness has run out. */
  private async releaseDead(queue: string, jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    const holders: (string | null)[] = [];
    await sendInSlices(jobIds, async (slice) => {
      holders.push(...(await Promise.all(slice.map((id) => this.redis.hget(bullJobKey(queue, id), 'pb')))));
    });
    const dead = await this.workers.expired([...new Set(holders.filter((h): h is string => h !== null))]);
    const held = jobIds.filter((_, i) => holders[i] !== null && dead.has(holders[i]!));
    if (held.length === 0) return;
    const keys = held.flatMap((id) => [bullJobKey(queue, id), bullLockKey(queue, id)]);
    const released = (await this.redis.eval(RELEASE_DEAD_LUA, keys.length, ...keys, ...dead)) as number;
    if (released > 0) this.log.warn({ queue, jobs: released, dead: [...dead] }, 'a canceled batch\'s chunks held by dead workers: withdrawn and recorded canceled');
  }

  close(): Promise<void> {
    return this.timer.stop();
  }
}
