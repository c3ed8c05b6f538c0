/**
 * LiveModels: the model versions this worker serves, kept in step with the repository API
 * (POST /v2/repository/models/{m}/load|unload) without a restart.
 *
 * The API keeps the names of unloaded models in a Redis set and announces every change on a
 * channel. On each announcement (and once at start) this re-reads the model repository and
 * the set, opens a runner for every selected version that is served and not yet running
 * (a load may also bring new versions from disk), and closes the runners of versions no longer
 * served; a closing runner finishes the jobs it holds, like a worker stopping. Changes are
 * applied one at a time, in order.
 */
import type { Redis } from 'ioredis';
import {
  loadRepository, MODELS_CHANNEL, UNLOADED_MODELS_KEY, type Logger, type Model, type ModelVersion,
} from '@maas/shared';

/** What LiveModels needs of a runner. */
export interface ServedRunner {
  readonly tag: string;
  close(): Promise<void>;
}

export interface LiveModelsOptions<R extends ServedRunner> {
  root: string;
  /** WORKER_MODELS filter */
  selected: (v: ModelVersion) => boolean;
  /** opens and starts a runner for one version */
  open: (m: Model, v: ModelVersion) => Promise<R>;
  /** the runners changed (after a load or an unload) */
  changed: (runners: R[]) => void;
}

export class LiveModels<R extends ServedRunner> {
  private readonly running = new Map<string, R>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly log: Logger,
    private readonly opts: LiveModelsOptions<R>,
  ) {}

  get runners(): R[] {
    return [...this.running.values()];
  }

  /** The versions to serve now: selected, served by the repository, not unloaded. */
  async wanted(): Promise<{ m: Model; v: ModelVersion }[]> {
    const [repo, unloaded] = await Promise.all([loadRepository(this.opts.root), this.redis.smembers(UNLOADED_MODELS_KEY)]);
    for (const p of repo.problems) this.log.error({ problem: p }, 'model skipped');
    return [...repo.models.values()]
      .filter((m) => !unloaded.includes(m.name))
      .flatMap((m) => m.versions.map((v) => ({ m, v })))
      .filter(({ v }) => this.opts.selected(v));
  }

  /** Opens the first runners, then follows load/unload announcements. */
  async start(): Promise<void> {
    this.subscriber.on('message', (channel) => {
      if (channel === MODELS_CHANNEL) this.chain = this.chain.then(() => this.sync()).catch((err: unknown) => this.log.error({ err }, 'model change not applied'));
    });
    // Subscribed before the first read, so a change made meanwhile is applied after it.
    await this.subscriber.subscribe(MODELS_CHANNEL);
    this.chain = this.sync();
    await this.chain;
  }

  private async sync(): Promise<void> {
    const wanted = await this.wanted();
    const tags = new Set(wanted.map(({ v }) => `${v.model}:${v.version}`));
    let changed = false;
    for (const [tag, r] of this.running) {
      if (tags.has(tag)) continue;
      this.running.delete(tag);
      changed = true;
      this.log.info({ model: tag }, 'model unloaded: finishing held jobs');
      await r.close();
    }
    for (const { m, v } of wanted) {
      const tag = `${v.model}:${v.version}`;
      if (this.running.has(tag)) continue;
      this.running.set(tag, await this.opts.open(m, v));
      changed = true;
      this.log.info({ model: tag }, 'model loaded');
    }
    if (changed) this.opts.changed(this.runners);
  }

  /** Stops following announcements and closes every runner (each finishes what it holds). */
  async close(): Promise<void> {
    await this.subscriber.unsubscribe(MODELS_CHANNEL).catch(() => {});
    this.subscriber.disconnect();
    await this.chain;
    await Promise.all(this.runners.map((r) => r.close()));
    this.running.clear();
  }
}
