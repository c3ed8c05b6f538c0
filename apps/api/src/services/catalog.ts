/** The served models, loaded once at start-up; lookups throw NotFoundError (CONTRACT §4: 404). */
import { findVersion, NotFoundError, type Model, type ModelVersion, type Repository } from '@maas/shared';

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

  /** The named version (a number or digit string), or the newest served one. */
  resolve(name: string, version?: number | string): { model: Model; version: ModelVersion } {
    const model = this.model(name);
    const n = version === undefined ? undefined : Number(version);
    const v = n === undefined || Number.isInteger(n) ? findVersion(model, n) : undefined;
    if (!v) throw new NotFoundError('model version', `${name}/${String(version)}`);
    return { model, version: v };
  }
}
