/**
 * LiveModels: the model versions this worker serves, kept in step with the repository without
 * a restart: the repository API (POST /v2/repository/models/{m}/load|unload) and changes on
 * disk (a model or version folder added or removed, a file rewritten, config.json edited),
 * found by this worker's own poller (MODEL_REPOSITORY_POLL_S) or announced by an API instance
 * that found them first.
 *
 * The API keeps the names of unloaded models in a Redis set and announces every change on a
 * channel, naming the model. For each announcement (and for every model once at start) this
 * re-reads the model from disk and the set, and opens a runner for each selected version that
 * is served and not yet running, or whose files changed since its runner opened. Opening is
 * the check: a version whose runner cannot be opened (its session cannot be created) counts
 * as broken, so the version policy falls back to the previous version, whose runner keeps
 * serving (shared `loadServed`); the failure is logged once per file, and tried again only
 * when the files change. A model that cannot be read at all (a broken config.json, no version
 * that loads) keeps the runners it had. A version no longer served (unloaded, removed, or
 * replaced by the version policy) is retired: its runner goes on running the jobs queued for
 * it before the change, until its queue has nothing waiting or held (a dead worker's held jobs
 * come back to it), then closes, finishing the jobs it holds like a worker stopping (the API
 * refuses new requests for it at once); a worker that starts later does the same for a version
 * not served whose queue still holds jobs. Changes are applied one at a time, in order.
 */
import { readdir } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import {
  inferenceQueueName, isModelFolder, MODEL_CHANGES_KEY, modelNameProblem, MODELS_CHANNEL, modelVersionTag, unfinishedJobCount, readModel, UNLOADED_MODELS_KEY, versionFoldersOf, type Logger, type Model, type ModelChangeMessage, type ModelInfo, type ModelVersion,
  type VersionCheck,
} from '@maas/shared';

/** What LiveModels needs of a runner. */
export interface ServedRunner {
  readonly tag: string;
  /** jobs in its queue not yet finished: waiting, or held (by any worker, a dead one's too) */
  unfinished(): Promise<number>;
  /** its BullMQ queue (the dead-worker sweeper releases what dead workers hold there) */
  readonly queueName: string;
  close(): Promise<void>;
}

/** How often a retired runner looks whether its queue is empty. */
export const RETIRED_POLL_MS = 1000;

export interface LiveModelsOptions<R extends ServedRunner> {
  root: string;
  /** WORKER_MODELS filter */
  selected: (v: Pick<ModelVersion, 'model' | 'version'>) => boolean;
  /** opens and starts a runner for one version; throws when it cannot (the version is then broken) */
  open: (m: ModelInfo, v: ModelVersion) => Promise<R>;
  /** the runners changed (after a load, an unload or a change on disk) */
  changed: (runners: R[]) => void;
  /** every model change up to `seq` (MODEL_CHANGES_KEY) is applied: the heartbeat says so */
  applied?: (seq: number) => void;
  /** the versions whose runner could not be opened, by tag, with why: the heartbeat says so (the API's index shows it) */
  refused?: (reasons: Record<string, string>) => void;
  /**
   * How long a retired runner stays open, its queue empty or not (`retireGraceMs`): an API
   * that has not yet seen the change (its own poll comes later) still routes jobs there.
   */
  retireGraceMs?: number;
}

/**
 * A retired runner's grace for a worker polling every `pollMs`: two polls (an API notices a
 * change up to a period after this worker did, and it settles over two) and 5 s to read and
 * check the model again.
 */
export const retireGraceMs = (pollMs: number): number => 2 * pollMs + 5000;

interface Running<R> {
  runner: R;
  /** the model's and the version's file stamps when the runner opened: a change reopens it */
  key: string;
}

const tagOf = (v: Pick<ModelVersion, 'model' | 'version'>) => modelVersionTag(v.model, v.version);
const modelOf = (tag: string) => tag.slice(0, tag.lastIndexOf(':'));

export class LiveModels<R extends ServedRunner> {
  private readonly running = new Map<string, Running<R>>();
  /** versions whose runner could not be opened, with the files' key then: not retried until they change */
  private readonly refused = new Map<string, { key: string; reason: string }>();
  /** model problems already logged (each is logged once until it changes) */
  private readonly reported = new Map<string, string>();
  /** unavailable versions already logged, as `model:version reason` */
  private readonly warned = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  /** runners of versions no longer served, by tag, running what is left in their queues */
  private readonly retiring = new Map<string, { runner: R; done: Promise<void> }>();
  private closing = false;
  /** the last model change (MODEL_CHANGES_KEY) applied */
  private appliedSeq = 0;

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly log: Logger,
    private readonly opts: LiveModelsOptions<R>,
  ) {}

  get runners(): R[] {
    return [...this.running.values()].map((r) => r.runner);
  }

  /** Runners of versions no longer served that still run what is left in their queues (`retire`). */
  get retiringRunners(): R[] {
    return [...this.retiring.values()].map((r) => r.runner);
  }

  /** Opens the first runners, then follows announcements. */
  async start(): Promise<void> {
    this.subscriber.on('message', (channel, message) => {
      if (channel !== MODELS_CHANNEL) return;
      const change = JSON.parse(message) as ModelChangeMessage;
      // Applied or not (logged by sync), it is done with: a load waits for no change that will never come.
      void this.sync([change.model]).catch(() => {}).then(() => this.appliedUpTo(change.seq));
    });
    // Subscribed before the first read, so a change made meanwhile is applied after it; the
    // first read applies every change numbered before it (one numbered but not yet written, in
    // the instant between the two, is read as it was: its own announcement applies it next).
    await this.subscriber.subscribe(MODELS_CHANNEL);
    const before = Number(await this.redis.get(MODEL_CHANGES_KEY)) || 0;
    await this.sync('all');
    this.appliedUpTo(before);
  }

  private appliedUpTo(seq: number | undefined): void {
    if (seq === undefined || seq <= this.appliedSeq) return;
    this.appliedSeq = seq;
    this.opts.applied?.(seq);
  }

  /** Re-reads `models` (or every model) and opens or closes runners to match; applied in order. */
  sync(models: string[] | 'all'): Promise<void> {
    const run = this.chain.then(() => this.apply(models));
    this.chain = run.catch((err: unknown) => this.log.error({ err }, 'model change not applied'));
    return run;
  }

  private async apply(models: string[] | 'all'): Promise<void> {
    const unloaded = new Set(await this.redis.smembers(UNLOADED_MODELS_KEY));
    // A full sync reads the repository once, for the names and for whether each is a folder.
    let names = models;
    let listing: string[] | undefined;
    if (names === 'all') {
      listing = await readdir(this.opts.root);
      names = [...new Set([...listing, ...[...this.running.keys()].map(modelOf)])].sort();
    }
    let changed = false;
    for (const name of names) changed = (await this.applyModel(name, unloaded, listing)) || changed;
    if (changed) this.opts.changed(this.runners);
  }

  /** Brings `name`'s runners in line with its files; true when they changed. */
  private async applyModel(name: string, unloaded: Set<string>, listing?: readonly string[]): Promise<boolean> {
    const isDir = await isModelFolder(this.opts.root, name, listing);
    if (!isDir || unloaded.has(name)) {
      const changed = await this.keepOnly(name, new Set(), unloaded.has(name) ? 'model unloaded' : 'model folder removed');
      if (isDir) await this.runLeftovers(name, new Set());
      return changed;
    }
    const nameProblem = modelNameProblem(name);
    if (nameProblem) return this.problem(name, nameProblem);
    const opened = new Map<string, Running<R>>();
    const check: VersionCheck = async (m, v) => {
      if (!this.opts.selected(v)) return;
      const tag = tagOf(v);
      const key = `${m.stamp}|${v.stamp}`;
      if (this.running.get(tag)?.key === key) return;
      const refused = this.refused.get(tag);
      if (refused?.key === key) throw new Error(refused.reason);
      try {
        opened.set(tag, { runner: await this.opts.open(m, v), key });
        if (this.refused.delete(tag)) this.tellRefused();
      } catch (err) {
        const reason = `runner cannot be opened: ${(err as Error).message}`;
        this.refused.set(tag, { key, reason });
        this.tellRefused();
        const serving = this.servingTags(m.name);
        this.log.warn({ model: tag, reason, serving }, serving.length ? 'model version cannot be served: the previous versions keep serving' : 'model version cannot be served');
        throw new Error(reason);
      }
    };
    let model;
    try {
      model = await readModel(this.opts.root, name, [], check);
    } catch (err) {
      await Promise.all([...opened.values()].map((o) => o.runner.close()));
      return this.problem(name, (err as Error).message);
    }
    this.reported.delete(name);
    for (const u of model.unavailable) {
      const note = `${name}:${u.version} ${u.reason}`;
      if (this.warned.has(note)) continue;
      this.warned.add(note);
      if (!u.reason.includes('runner cannot be opened')) this.log.warn({ model: `${name}:${u.version}`, reason: u.reason }, 'model version unavailable');
    }
    const wanted = new Set(model.versions.filter((v) => this.opts.selected(v)).map(tagOf));
    let changed = false;
    for (const [tag, o] of opened) {
      if (!wanted.has(tag)) {
        await o.runner.close();
        continue;
      }
      const old = this.running.get(tag);
      this.running.set(tag, o);
      changed = true;
      this.log.info({ model: tag }, old ? 'model reloaded: its files changed' : 'model loaded');
      if (old) await old.runner.close();
    }
    changed = (await this.keepOnly(name, wanted, 'model version no longer served')) || changed;
    await this.runLeftovers(name, wanted);
    return changed;
  }

  /**
   * Tells the refusals (read by every tenant, in the repository index) with paths relative to
   * the repository: a worker's file system is not theirs to see (a security audit). The log keeps
   * them whole.
   */
  private tellRefused(): void {
    const within = resolve(this.opts.root) + sep;
    this.opts.refused?.(Object.fromEntries([...this.refused].map(([tag, r]) => [tag, r.reason.replaceAll(within, '')])));
  }

  /** The tags of `name`'s versions this worker serves now. */
  private servingTags(name: string): string[] {
    return [...this.running.keys()].filter((t) => modelOf(t) === name);
  }

  /** A model that cannot be read keeps the runners it has; logged once per problem. */
  private problem(name: string, problem: string): boolean {
    if (this.reported.get(name) !== problem) {
      const serving = this.servingTags(name);
      this.log.error({ problem, serving }, serving.length ? 'model change refused: the served versions keep serving' : 'model skipped');
      this.reported.set(name, problem);
    }
    return false;
  }

  /**
   * Versions of `name` on disk that are not served (`served`: an unloaded model's none; else the
   * policy's) but still have jobs queued for them, queued before the unload or the change while
   * no worker that ran them was up, or held by a worker that died: a runner is opened for each
   * and retired at once, so they run. Only versions this worker would run (WORKER_MODELS) are looked at, and only those with
   * a queue are read (a file may be large).
   */
  private async runLeftovers(name: string, served: ReadonlySet<string>): Promise<void> {
    const waiting: number[] = [];
    for (const version of await versionFoldersOf(this.opts.root, name)) {
      const tag = tagOf({ model: name, version });
      if (served.has(tag) || this.running.has(tag) || this.retiring.has(tag) || !this.opts.selected({ model: name, version })) continue;
      if ((await unfinishedJobCount(this.redis, inferenceQueueName(name, version)).catch(() => 0)) > 0) waiting.push(version);
    }
    if (waiting.length === 0) return;
    let model: Model;
    try {
      model = await readModel(this.opts.root, name, [], undefined, { specific: waiting });
    } catch (err) {
      this.log.warn({ model: name, versions: waiting, reason: (err as Error).message }, 'jobs are left for versions not served, which cannot be read here');
      return;
    }
    for (const v of model.versions) {
      try {
        this.retire(tagOf(v), await this.opts.open(model, v), 'model version not served, with jobs queued for it');
      } catch (err) {
        this.log.warn({ model: tagOf(v), reason: (err as Error).message }, 'jobs left for a version not served cannot run here');
      }
    }
  }

  /** Retires `name`'s runners that are not in `tags` (see `retire`). */
  private async keepOnly(name: string, tags: Set<string>, why: string): Promise<boolean> {
    let changed = false;
    for (const [tag, r] of [...this.running]) {
      if (modelOf(tag) !== name || tags.has(tag)) continue;
      this.running.delete(tag);
      changed = true;
      this.retire(tag, r.runner, why);
    }
    return changed;
  }

  /**
   * A runner whose version is no longer served runs what is still in its queue (jobs queued
   * before an unload still run, as in Triton) and what arrives during its grace
   * (`retireGraceMs`), then closes; at once if the version is served again (loaded back: a new
   * runner takes the queue). In the background: other changes go on.
   */
  private retire(tag: string, runner: R, why: string): void {
    this.log.info({ model: tag }, `${why}: running the jobs left in its queue, then closing`);
    const graceUntil = Date.now() + (this.opts.retireGraceMs ?? 0);
    const due = async () => Date.now() >= graceUntil && (await runner.unfinished().catch(() => 1)) === 0;
    const done = (async () => {
      // Held jobs count too: a dead worker's come back to this queue (its sweeper, or their
      // locks' expiry) and must find a runner; they stayed `running` for good when it had closed.
      // And it stays for its grace: an API that has not yet seen the change still routes jobs
      // here (a rewritten model.onnx that fails: no runner could open it again to run them).
      while (!this.closing && !this.running.has(tag) && !(await due())) await sleep(RETIRED_POLL_MS);
      const servedAgain = this.running.has(tag);
      await runner.close();
      this.log.info({ model: tag }, servedAgain ? 'retired model version closed: served again by a new runner' : 'retired model version closed: nothing waiting or held in its queue');
    })()
      .catch((err: unknown) => this.log.error({ err, model: tag }, 'retired model version did not close cleanly'))
      // Only its own entry: the tag may have been retired again since (unloaded, loaded, unloaded).
      .finally(() => this.retiring.get(tag)?.runner === runner && this.retiring.delete(tag));
    this.retiring.set(tag, { runner, done });
  }

  /** Stops following announcements and closes every runner (each finishes what it holds). */
  async close(): Promise<void> {
    await this.subscriber.unsubscribe(MODELS_CHANNEL).catch(() => {});
    this.subscriber.disconnect();
    await this.chain;
    this.closing = true;
    await Promise.all([...this.runners.map((r) => r.close()), ...[...this.retiring.values()].map((r) => r.done)]);
    this.running.clear();
  }
}
