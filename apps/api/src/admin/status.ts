/**
 * StatusBoard: what the `/admin` page shows — models and versions, the workers serving each
 * (device, execution provider), queue depth and the age of the oldest queued job per model
 * version (a version no longer served too, while its queue holds jobs), throughput and formed batch sizes over the last minutes, and recent failures.
 *
 * Live state is read from Redis on each request (the page polls every few seconds). History
 * comes from a sample of the workers' counters every `everyMs`, kept for `keepMs` (series.ts);
 * each API process keeps its own, so any instance can serve the page.
 */
import { clusterNow, decodeJobError, inferenceQueueName, type Logger, type QueueJobCounts } from '@maas/shared';
import type { ModelCatalog } from '../services/catalog.js';
import type { QueueRegistry } from '../services/queues.js';
import { oldestQueuedAt, queuedSeconds } from '../services/oldest-queued.js';
import { unservedQueues } from '../services/unserved-queues.js';
import { servingWorkers, type LiveWorker, type WorkerDirectory } from '../services/workers.js';
import { sampleFromMetrics, series, windowByModel, type ModelWindow, type Point, type Sample } from './series.js';

export interface VersionStatus {
  version: number;
  /** false for a version no longer served whose queue still holds jobs (retiring, or its folder gone) */
  served: boolean;
  queued: number;
  active: number;
  delayed: number;
  /** seconds the oldest queued job has waited (sampled among the first queued jobs), or null */
  oldest_queued_s: number | null;
  workers: { id: string; host: string; device: string; provider: string }[];
}

export interface StatusReport {
  generated_at: string;
  window_s: number;
  models: { name: string; versions: VersionStatus[]; throughput: ModelWindow | null }[];
  /** `draining`: stopping (SIGTERM), it finishes what it holds and takes no job; `serves` is what it still has open */
  workers: { id: string; host: string; pid: number; device: string; serves: string[]; draining: boolean }[];
  series: Point[];
  /** `queue`: the BullMQ queue the job failed in (the queue board's page of it: `/admin/queues/queue/{queue}/{id}`) */
  failures: { id: string; queue: string; model: string; version: number; tenant: string; failed_at: string; type: string; message: string }[];
}

const FAILURES_PER_QUEUE = 10;
const FAILURES_SHOWN = 15;

export class StatusBoard {
  private samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly queues: QueueRegistry,
    private readonly workers: WorkerDirectory,
    private readonly log: Logger,
    private readonly opts: { everyMs: number; keepMs: number } = { everyMs: 10_000, keepMs: 15 * 60_000 },
  ) {}

  start(): void {
    const tick = () => void this.sample().catch((err: unknown) => this.log.debug({ err }, 'status sample failed'));
    tick();
    this.timer = setInterval(tick, this.opts.everyMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  async sample(now = clusterNow()): Promise<void> {
    this.samples.push(sampleFromMetrics(await this.workers.metrics(), now));
    while (this.samples.length > 1 && now - this.samples[0]!.at > this.opts.keepMs) this.samples.shift();
  }

  async status(now = clusterNow()): Promise<StatusReport> {
    // The latest counts as a last point, so the newest interval shows without waiting for a tick.
    const latest = sampleFromMetrics(await this.workers.metrics(), now);
    const samples = [...this.samples, latest];
    // By id: the live list's order changes with every heartbeat (the page keeps rows that did not
    // change); the workers of each version (servingWorkers) keep this order.
    const live = [...(await this.workers.live())].sort((a, b) => a.id.localeCompare(b.id));
    const windows = windowByModel(samples);
    const models = await Promise.all(
      this.catalog.models.map(async (m) => ({
        name: m.name,
        versions: await Promise.all(m.versions.map((v) => this.versionStatus(v.model, v.version, live, now))),
        throughput: windows[m.name] ?? null,
      })),
    );
    // Versions no longer served whose queues hold jobs, after their model's served ones.
    for (const u of await unservedQueues(this.queues.connection, this.queues, this.catalog)) {
      const version = await this.versionStatus(u.model, u.version, live, now, u.counts);
      const model = models.find((m) => m.name === u.model);
      if (model) model.versions.push(version);
      else models.push({ name: u.model, versions: [version], throughput: windows[u.model] ?? null });
    }
    return {
      generated_at: new Date(now).toISOString(),
      window_s: samples.length > 1 ? Math.round((now - samples[0]!.at) / 1000) : 0,
      models,
      workers: live.map((w) => ({ id: w.id, host: w.host, pid: w.pid, device: w.device, serves: w.models.map((s) => `${s.model}:${s.version} (${s.provider})`), draining: w.draining === true })),
      series: series(samples),
      failures: await this.failures(),
    };
  }

  /** A version's status; `unserved`: the counts already read of a version no longer served (its queue read-only). */
  private async versionStatus(model: string, version: number, live: LiveWorker[], now: number, unserved?: QueueJobCounts): Promise<VersionStatus> {
    const name = inferenceQueueName(model, version);
    const served = unserved === undefined;
    const q = served ? this.queues.byName(name) : this.queues.readOnly(name);
    const counts: Partial<Record<string, number>> = unserved ? { ...unserved } : await q.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
    const oldest = await oldestQueuedAt(this.queues.connection, name);
    return {
      version,
      served,
      queued: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0),
      active: counts['active'] ?? 0,
      delayed: counts['delayed'] ?? 0,
      oldest_queued_s: queuedSeconds(oldest, now) ?? null,
      workers: servingWorkers(live, model, version).map(({ worker: w, provider }) => ({ id: w.id, host: w.host, device: w.device, provider })),
    };
  }

  private async failures(): Promise<StatusReport['failures']> {
    const all: StatusReport['failures'] = [];
    for (const m of this.catalog.models) {
      for (const v of m.versions) {
        const queue = inferenceQueueName(v.model, v.version);
        const jobs = await this.queues.byName(queue).getJobs(['failed'], 0, FAILURES_PER_QUEUE - 1, false);
        for (const j of jobs) {
          if (!j) continue;
          const e = decodeJobError(j.failedReason);
          all.push({
            id: j.id ?? '', queue, model: v.model, version: v.version, tenant: j.data?.tenant ?? '',
            failed_at: new Date(j.finishedOn ?? j.timestamp).toISOString(), type: e.type, message: e.message.slice(0, 300),
          });
        }
      }
    }
    return all.sort((a, b) => b.failed_at.localeCompare(a.failed_at)).slice(0, FAILURES_SHOWN);
  }
}
