/** Triton statistics (GET /v2/models[/{m}]/stats, gRPC ModelStatistics), read from the hashes workers keep. */
import type { Redis } from 'ioredis';
import { NotFoundError, statsKey, toModelStatistics, type ModelStatistics } from '@maas/shared';
import type { ModelCatalog } from './catalog.js';

export class StatsService {
  constructor(
    private readonly redis: Redis,
    private readonly catalog: ModelCatalog,
  ) {}

  /** Every served version of every model, or of `model`, or just `model`/`version`. */
  async read(model?: string, version?: string): Promise<ModelStatistics[]> {
    const versions = model
      ? version
        ? [this.catalog.resolve(model, version).version]
        : this.catalog.model(model).versions
      : this.catalog.models.flatMap((m) => m.versions);
    if (version && !model) throw new NotFoundError('model version', `/${version}`);
    const hashes = await Promise.all(versions.map((v) => this.redis.hgetall(statsKey(v.model, v.version))));
    return versions.map((v, i) => toModelStatistics(v.model, v.version, hashes[i] ?? {}));
  }
}
