/**
 * The model repository extension (Triton): index, load and unload, for REST and gRPC, and
 * changes found on disk by polling (Triton's poll mode).
 *
 * Unloaded model names live in a Redis set and every change is announced on a channel, so
 * all API instances and all workers follow it without a restart (workers: LiveModels). A
 * load re-reads the model from disk (new versions, a changed config.json); an unload stops
 * new requests at once (404) while jobs already queued still run. The set outlives
 * restarts: an unloaded model stays unloaded until it is loaded again, whatever its files do.
 *
 * With MODEL_REPOSITORY_POLL_S, each API instance also polls the repository (shared
 * RepositoryPoller): a model folder or version added, removed or rewritten is re-read once its
 * files have settled, and announced on the same channel so the other instances and the
 * workers re-read it at once rather than at their next poll. A version, at start-up (main.ts)
 * as after, is served only once an onnxruntime session could be created from it
 * (session-check.ts); one that fails is reported UNAVAILABLE with its reason in the index,
 * logged, and the version policy falls back to the previous one, so requests without a
 * version keep going to a working version. A model whose config.json breaks keeps serving what it served. Fixing
 * the files is a new change: it is checked again, and served when it passes.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import {
  AppError, announceModelChange, isModelFolder, loadRepository, modelDigests, modelNameProblem, MODELS_CHANNEL, NotFoundError, readModel, UNLOADED_MODELS_KEY,
  type Logger, type Model, type ModelChange, type ModelChangeMessage, type ModelVersion, type VersionCheck,
} from '@maas/shared';
import type { ModelCatalog } from './catalog.js';
import { SessionChecks } from './session-check.js';
import { refusalsOf, servedFiles, type WorkerDirectory } from './workers.js';

/** An entry of the repository index (Triton's field names), as `POST /v2/repository/index` answers it. */
export const ModelIndexEntry = z.strictObject({
  name: z.string(),
  version: z.string().optional().describe('absent for a model that serves no version'),
  state: z.enum(['READY', 'UNAVAILABLE']),
  reason: z.string().describe('why a model or a version is UNAVAILABLE (unloaded, a broken file, a failed check); empty when READY'),
});
export type ModelIndexEntry = z.infer<typeof ModelIndexEntry>;

/** A load: its place in the change sequence (MODEL_CHANGES_KEY), and the versions served as of it, with what they are by content (`modelDigests`). */
export interface LoadedModel {
  name: string;
  seq: number;
  versions: { version: number; digest: string }[];
}

export class RepositoryService {
  /** models whose latest re-read failed (they keep serving what they served, if anything), and why */
  private readonly failures = new Map<string, string>();
  /** re-reads run one at a time, in order */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly catalog: ModelCatalog,
    private readonly log: Logger,
    /** checks a version before it is served, once per file and stamp: main.ts's, which checked the versions served at start-up */
    private readonly checks: SessionChecks = new SessionChecks(),
    /** the live workers: a version none serves is UNAVAILABLE in the index, as `…/ready` says it is not ready */
    private readonly workers?: WorkerDirectory,
  ) {}

  /** Applies the unloaded set, then follows changes made through other API instances. */
  async start(subscriber: Redis): Promise<void> {
    subscriber.on('message', (channel, message) => {
      if (channel !== MODELS_CHANNEL) return;
      const change = JSON.parse(message) as ModelChangeMessage;
      this.serially(() => this.apply(change)).catch((err: unknown) => this.log.error({ err, change }, 'model change not applied'));
    });
    await subscriber.subscribe(MODELS_CHANNEL);
    for (const name of await this.redis.smembers(UNLOADED_MODELS_KEY)) this.catalog.remove(name);
  }

  /**
   * Every model folder of the repository: each loaded version a live worker serves READY (as
   * `…/ready` and ModelReady answer: ready for inference); a loaded version none serves,
   * versions that failed to load, and unloaded or broken models, UNAVAILABLE with the reason.
   */
  async index(readyOnly = false): Promise<ModelIndexEntry[]> {
    const [repo, unloaded, live] = await Promise.all([
      loadRepository(this.catalog.repository.root), this.redis.smembers(UNLOADED_MODELS_KEY), this.workers?.live(),
    ]);
    const served = (name: string, version: number) => !live || live.some((w) => w.models.some((m) => m.model === name && m.version === version));
    // What the workers that could not open it said (a model asking for CUDA on workers without it).
    const whyNot = (name: string, version: number) => {
      const why = live ? refusalsOf(live, name, version) : '';
      return why ? ` (${why})` : '';
    };
    // Workers that serve a version from other files than this API read (their repository differs,
    // or one of them has not read a change yet): their answers may differ (a lifecycle audit).
    const otherFiles = (m: Model, v: ModelVersion) => {
      const digest = modelDigests(m, v);
      return (live ?? []).filter((w) => servedFiles(w, m.name, v.version, digest) === 'other').map((w) => w.id);
    };
    const entries: ModelIndexEntry[] = [];
    const problems = new Map([...repo.failed, ...this.failures]);
    for (const m of this.catalog.models) {
      for (const v of m.versions) {
        const others = served(m.name, v.version) ? otherFiles(m, v) : [];
        entries.push(served(m.name, v.version)
          ? { name: m.name, version: String(v.version), state: 'READY', reason: others.length ? `served from other files (config.json, labels.txt or model.onnx) than this API reads by ${others.join(', ')}: their repository differs, or one has not read a change yet` : '' }
          : { name: m.name, version: String(v.version), state: 'UNAVAILABLE', reason: `loaded, but no live worker serves ${m.name}/${v.version}: its requests wait queued until one does${whyNot(m.name, v.version)}` });
      }
      for (const u of m.unavailable) entries.push({ name: m.name, version: String(u.version), state: 'UNAVAILABLE', reason: u.reason });
    }
    for (const m of repo.models.values()) {
      if (this.catalog.repository.models.has(m.name) || problems.has(m.name)) continue;
      // Each version it would serve keeps its entry, as Triton's index lists an unloaded version;
      // one whose session check failed (every version of a model, at start-up) says why.
      const isUnloaded = unloaded.includes(m.name);
      const reason = (v: ModelVersion) => {
        const refused = isUnloaded ? undefined : this.checks.refusal(v);
        return refused ? `${m.name}/${v.version}: ${refused}` : isUnloaded ? 'unloaded' : 'not loaded';
      };
      if (m.versions.length === 0) entries.push({ name: m.name, state: 'UNAVAILABLE', reason: isUnloaded ? 'unloaded' : 'not loaded' });
      for (const v of m.versions) entries.push({ name: m.name, version: String(v.version), state: 'UNAVAILABLE', reason: reason(v) });
    }
    for (const [name, reason] of problems) entries.push({ name, state: 'UNAVAILABLE', reason });
    entries.sort((a, b) => a.name.localeCompare(b.name) || Number(a.version ?? 0) - Number(b.version ?? 0));
    return readyOnly ? entries.filter((e) => e.state === 'READY') : entries;
  }

  /**
   * Loads (or reloads) `name` from disk; a model the repository cannot serve is a 400 with the
   * reason. Triton's `config` and `file:…` parameters (a configuration or files sent with the
   * load) are refused with a 400: this load only reads MODEL_REPOSITORY, and answering 200 would
   * say another configuration was served. Other parameters are ignored. Resolves with the load's
   * place in the change sequence (MODEL_CHANGES_KEY) and the versions it serves, by content,
   * for `WorkerDirectory.untilServed`.
   */
  async load(name: string, parameterNames: readonly string[] = []): Promise<LoadedModel> {
    const override = parameterNames.find((p) => p === 'config' || p.startsWith('file:'));
    if (override) {
      throw new AppError('invalid-input', `load parameter '${override}' is not supported: a load reads the model from the repository (MODEL_REPOSITORY); put the files there`);
    }
    await this.serially(() => this.reread(name));
    const seq = await announceModelChange(this.redis, name, 'load');
    const model = this.catalog.repository.models.get(name);
    return { name, seq, versions: model ? model.versions.map((v) => ({ version: v.version, digest: modelDigests(model, v) })) : [] };
  }

  /**
   * Unloads `name`: new requests get 404 at once; workers finish what they hold and stop serving
   * it. Unloading a model already unloaded succeeds again (as Triton's does); a name the
   * repository never served is a 404.
   */
  async unload(name: string): Promise<void> {
    if (!this.catalog.repository.models.has(name)) {
      if (await this.redis.sismember(UNLOADED_MODELS_KEY, name)) return;
      this.catalog.model(name); // 404
    }
    this.catalog.remove(name);
    await announceModelChange(this.redis, name, 'unload');
  }

  /**
   * Settled changes found by this instance's poller: each model is re-read (or dropped when
   * its folder is gone), then announced so every other process re-reads it too. Throws only
   * when Redis fails (the poller then tries again next period).
   */
  async follow(changes: ModelChange[]): Promise<void> {
    for (const c of changes) {
      await this.serially(() => this.refresh(c.model));
      await announceModelChange(this.redis, c.model, 'changed');
    }
  }

  private serially(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step);
    this.chain = run.catch(() => {});
    return run;
  }

  /** Served versions already checked pass; a new or rewritten file must open in onnxruntime. */
  private readonly check: VersionCheck = async (model, v) => {
    const current = this.catalog.repository.models.get(model.name)?.versions.find((x) => x.version === v.version);
    if (current?.stamp === v.stamp) return;
    await this.checks.check(v);
  };

  private async reread(name: string): Promise<void> {
    // The name first: one that is not a model's name (`../x`) never reaches the file system, so
    // a load cannot tell which folders exist outside the repository (a lifecycle audit).
    const nameProblem = modelNameProblem(name);
    if (nameProblem) throw new AppError('invalid-input', `model '${name}' cannot be loaded: ${nameProblem}`);
    if (!(await isModelFolder(this.catalog.repository.root, name))) throw new NotFoundError('model', name);
    let model: Model;
    try {
      model = await readModel(this.catalog.repository.root, name, [], this.check);
    } catch (err) {
      throw new AppError('invalid-input', `model '${name}' cannot be loaded: ${(err as Error).message}`);
    }
    this.failures.delete(name);
    this.serve(model);
  }

  /** Re-reads `name` after a change on disk, unless it is unloaded; a model that fails keeps what it served. */
  private async refresh(name: string): Promise<void> {
    if (modelNameProblem(name) || (await this.redis.sismember(UNLOADED_MODELS_KEY, name))) return;
    if (!(await isModelFolder(this.catalog.repository.root, name))) {
      this.failures.delete(name);
      if (this.catalog.repository.models.has(name)) this.log.info({ model: name }, 'model folder removed: no longer served');
      this.catalog.remove(name);
      return;
    }
    try {
      await this.reread(name);
    } catch (err) {
      const reason = (err as Error).message.replace(/^model '[^']*' cannot be loaded: /, '');
      const served = this.catalog.repository.models.get(name)?.versions.map((v) => v.version);
      if (this.failures.get(name) !== reason) {
        this.log.warn({ model: name, reason, served }, served ? 'model change refused: the served versions keep serving' : 'model cannot be loaded');
      }
      this.failures.set(name, reason);
    }
  }

  /** Serves `model`, warning once for each version that could not be loaded. */
  private serve(model: Model): void {
    const before = this.catalog.repository.models.get(model.name)?.unavailable ?? [];
    for (const u of model.unavailable) {
      if (before.some((b) => b.version === u.version && b.reason === u.reason)) continue;
      const served = model.versions.map((v) => v.version);
      this.log.warn({ model: model.name, version: u.version, reason: u.reason, served }, 'model version unavailable: the previous versions keep serving');
    }
    this.catalog.put(model);
  }

  /** A change announced by any API instance (this one included: applying it twice is harmless). */
  private async apply(change: ModelChangeMessage): Promise<void> {
    if (change.action === 'unload') this.catalog.remove(change.model);
    else if (change.action === 'changed') await this.refresh(change.model);
    else await this.reread(change.model).catch(() => {});
  }
}
