/**
 * The model repository extension (Triton): index, load and unload, for REST and gRPC.
 *
 * Unloaded model names live in a Redis set and every change is announced on a channel, so
 * all API instances and all workers follow it without a restart (workers: LiveModels). A
 * load re-reads the model from disk (new versions, a changed config.json); an unload stops
 * new requests at once (404) while jobs already queued still run. The set outlives
 * restarts: an unloaded model stays unloaded until it is loaded again.
 */
import type { Redis } from 'ioredis';
import {
  AppError, loadRepository, MODELS_CHANNEL, NotFoundError, UNLOADED_MODELS_KEY, type Logger, type ModelChangeMessage,
} from '@maas/shared';
import type { ModelCatalog } from './catalog.js';

export interface ModelIndexEntry {
  name: string;
  version?: string;
  state: 'READY' | 'UNAVAILABLE';
  reason: string;
}

export class RepositoryService {
  constructor(
    private readonly redis: Redis,
    private readonly catalog: ModelCatalog,
    private readonly log: Logger,
  ) {}

  /** Applies the unloaded set, then follows changes made through other API instances. */
  async start(subscriber: Redis): Promise<void> {
    subscriber.on('message', (channel, message) => {
      if (channel !== MODELS_CHANNEL) return;
      const change = JSON.parse(message) as ModelChangeMessage;
      this.apply(change).catch((err: unknown) => this.log.error({ err, change }, 'model change not applied'));
    });
    await subscriber.subscribe(MODELS_CHANNEL);
    for (const name of await this.redis.smembers(UNLOADED_MODELS_KEY)) this.catalog.remove(name);
  }

  /** Every model folder of the repository, each served version READY; unloaded or broken ones UNAVAILABLE. */
  async index(readyOnly = false): Promise<ModelIndexEntry[]> {
    const [repo, unloaded] = await Promise.all([loadRepository(this.catalog.repository.root), this.redis.smembers(UNLOADED_MODELS_KEY)]);
    const entries: ModelIndexEntry[] = [];
    for (const m of repo.models.values()) {
      const served = this.catalog.models.find((x) => x.name === m.name);
      if (!served) {
        entries.push({ name: m.name, state: 'UNAVAILABLE', reason: unloaded.includes(m.name) ? 'unloaded' : 'not loaded' });
        continue;
      }
      for (const v of served.versions) entries.push({ name: m.name, version: String(v.version), state: 'READY', reason: '' });
    }
    for (const problem of repo.problems) {
      entries.push({ name: problem.split(/[:/]/)[0] ?? problem, state: 'UNAVAILABLE', reason: problem });
    }
    entries.sort((a, b) => a.name.localeCompare(b.name) || Number(a.version ?? 0) - Number(b.version ?? 0));
    return readyOnly ? entries.filter((e) => e.state === 'READY') : entries;
  }

  /** Loads (or reloads) `name` from disk; a model the repository cannot serve is a 400 with the reason. */
  async load(name: string): Promise<void> {
    await this.reread(name);
    await this.redis.multi().srem(UNLOADED_MODELS_KEY, name).publish(MODELS_CHANNEL, JSON.stringify({ model: name, action: 'load' } satisfies ModelChangeMessage)).exec();
  }

  /** Unloads `name`: new requests get 404 at once; workers finish what they hold and stop serving it. */
  async unload(name: string): Promise<void> {
    this.catalog.model(name); // 404 for a model that is not loaded
    this.catalog.remove(name);
    await this.redis.multi().sadd(UNLOADED_MODELS_KEY, name).publish(MODELS_CHANNEL, JSON.stringify({ model: name, action: 'unload' } satisfies ModelChangeMessage)).exec();
  }

  private async reread(name: string): Promise<void> {
    const repo = await loadRepository(this.catalog.repository.root);
    const model = repo.models.get(name);
    if (!model) {
      const problem = repo.problems.find((p) => p.startsWith(`${name}:`) || p.startsWith(`${name}/`));
      if (problem) throw new AppError('invalid-input', `model '${name}' cannot be loaded: ${problem}`);
      throw new NotFoundError('model', name);
    }
    this.catalog.put(model);
  }

  /** A change announced by any API instance (this one included: applying it twice is harmless). */
  private async apply(change: ModelChangeMessage): Promise<void> {
    if (change.action === 'unload') this.catalog.remove(change.model);
    else await this.reread(change.model).catch(() => {});
  }
}
