/**
 * The served models: scanned at start-up, then changed by the repository API (load/unload,
 * services/repository.ts). Lookups throw NotFoundError (CONTRACT §4: 404).
 */
import { findVersion, NotFoundError, VERSION_TEXT, type Model, type ModelVersion, type Repository } from '@maas/shared';

export class ModelCatalog {
  constructor(readonly repository: Repository) {}

  get models(): Model[] {
    return [...this.repository.models.values()];
  }

  model(name: string): Model {
    const m = this.repository.models.get(name);
    if (!m) throw new NotFoundError('model', name);
    return m;
  }

  /** Serves `model` (a load: new, or re-read from disk). */
  put(model: Model): void {
    this.repository.models.set(model.name, model);
  }

  /** Stops serving `name` (an unload). */
  remove(name: string): void {
    this.repository.models.delete(name);
  }

  /** The named version (a number, or digits as VERSION_TEXT spells them), or the newest served one. */
  resolve(name: string, version?: number | string): { model: Model; version: ModelVersion } {
    const model = this.model(name);
    const n = version === undefined ? undefined : typeof version === 'number' ? version : VERSION_TEXT.test(version) ? Number(version) : NaN;
    const v = n === undefined || Number.isInteger(n) ? findVersion(model, n) : undefined;
    if (!v) throw new NotFoundError('model version', `${name}/${String(version)}`);
    return { model, version: v };
  }
}
