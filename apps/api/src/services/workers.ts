/**
 * Live workers, from their heartbeats in Redis (see apps/worker/src/heartbeat.ts); cached briefly.
 * A worker whose liveness entry (liveness/alive-beat.ts, renewed every third of
 * WORKER_ALIVE_TTL_MS) has expired is not live either, though its heartbeat is recent: it is
 * frozen or gone, and live workers' sweepers already release its jobs, so a model it alone
 * served answers not ready within that TTL instead of after three missed heartbeats.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { LoadedModel } from './repository.js';
import { AppError, clusterNow, execReplies, FORGET_DEAD_LUA, isRedisUnavailable, modelVersionTag, workerModelsSelect, WORKER_METRICS_LINGER_MS, WORKERS_ALIVE_KEY, WORKERS_GONE_KEY, WORKERS_INFO_KEY, WORKERS_METRICS_KEY, WORKERS_SEEN_KEY } from '@maas/shared';

export interface LiveWorker {
  id: string;
  host: string;
  pid: number;
  device: string;
  heartbeat_ms: number;
  /** `digest`: what it runs, by content (`modelDigests`); absent from workers of releases before it */
  models: { model: string; version: number; provider: string; digest?: string }[];
  /** WORKER_MODELS (empty: every model); absent from workers of releases before it */
  serves?: string[];
  /** the last model change (MODEL_CHANGES_KEY) it has applied; absent from workers of releases before it */
  changes_applied?: number;
  /** it drains (SIGTERM): it applies no more model changes */
  draining?: boolean;
  /** versions (`model:version`) whose runner it could not open, with why */
  refused?: Record<string, string>;
}

/** PURE: why the workers `live` could not open `model`'s versions, as `worker: model:version reason` lines joined (empty: none said). */
export function refusalsOf(live: readonly LiveWorker[], model: string, version?: number): string {
  const lines: string[] = [];
  for (const w of live) {
    for (const [tag, reason] of Object.entries(w.refused ?? {})) {
      // Model names hold no ':' (modelNameProblem): a tag of the model starts with its name and ':'.
      if (version === undefined ? tag.startsWith(`${model}:`) : tag === modelVersionTag(model, version)) lines.push(`${w.id}: ${tag} ${reason}`);
    }
  }
  return lines.join('; ');
}

/**
 * PURE: the workers of `live` that serve `model` version `version`, each with the execution
 * provider it runs it on: what `/admin` lists and `maas_model_workers` counts. A draining worker
 * (stopping: it finishes what it holds and takes nothing more) serves none (a spot-instance
 * audit: an autoscaler read it as serving for the whole of its drain).
 */
export function servingWorkers(live: readonly LiveWorker[], model: string, version: number): { worker: LiveWorker; provider: string }[] {
  return live.flatMap((worker) => (worker.draining ? [] : worker.models.filter((s) => s.model === model && s.version === version).map((s) => ({ worker, provider: s.provider }))));
}

const CACHE_MS = 500;
/** how often a load looks whether a worker serves what it loaded */
const UNTIL_SERVED_POLL_MS = 100;
/** how long a repository load waits for a worker to serve the model it loaded */
export const LOAD_READY_WAIT_MS = 10_000;
/** a worker that missed this many heartbeats is gone */
const MISSED_BEATS = 3;

export class WorkerDirectory {
  private cache: { at: number; workers: LiveWorker[] } | undefined;

  constructor(private readonly redis: Redis) {}

  /** The live workers, as read at most CACHE_MS ago (`fresh`: read now). */
  async live(fresh = false): Promise<LiveWorker[]> {
    const now = Date.now();
    if (!fresh && this.cache && now - this.cache.at < CACHE_MS) return this.cache.workers;
    const { replies, redisNow } = await this.withRedisTime(this.redis.pipeline().zrange(WORKERS_SEEN_KEY, '0', '-1', 'WITHSCORES').zrange(WORKERS_ALIVE_KEY, '0', '-1', 'WITHSCORES'));
    const [seen, alive] = replies as [string[], string[]];
    const ids: string[] = [];
    const beats = new Map<string, number>();
    const seenScores = new Map<string, string>();
    for (let i = 0; i < seen.length; i += 2) {
      ids.push(seen[i]!);
      beats.set(seen[i]!, Number(seen[i + 1]));
      seenScores.set(seen[i]!, seen[i + 1]!);
    }
    const expiries = new Map<string, number>();
    for (let i = 0; i < alive.length; i += 2) expiries.set(alive[i]!, Number(alive[i + 1]));
    const infos = ids.length ? await this.redis.hmget(WORKERS_INFO_KEY, ...ids) : [];
    const workers: LiveWorker[] = [];
    const dead: string[] = [];
    infos.forEach((json, i) => {
      const id = ids[i]!;
      const w = json ? (JSON.parse(json) as LiveWorker) : undefined;
      // Beats are stamped with Redis's time (heartbeat.ts), so no host's clock is compared with another's.
      if (!w || redisNow - beats.get(id)! > MISSED_BEATS * w.heartbeat_ms) dead.push(id);
      // Frozen or gone: not live, but left listed (it may wake; its heartbeat decides when it is forgotten).
      else if ((expiries.get(id) ?? Infinity) > redisNow) workers.push(w);
    });
    if (dead.length) {
      // Forget workers that died without leaving (SIGKILL, lost machine); another API may race us,
      // harmlessly. A Redis refusing writes (read-only, out of memory) leaves them for a later
      // read: what was read is answered all the same (/metrics, readiness, /admin during an incident).
      await this.redis.eval(FORGET_DEAD_LUA, 4, WORKERS_SEEN_KEY, WORKERS_INFO_KEY, WORKERS_METRICS_KEY, WORKERS_GONE_KEY, ...dead.flatMap((id) => [id, seenScores.get(id)!]))
        .catch((err: unknown) => {
          if (!isRedisUnavailable(err)) throw err;
        });
    }
    this.cache = { at: now, workers };
    return workers;
  }

  /**
   * Which of the workers `ids` are dead by their liveness: their entry (liveness/alive-beat.ts)
   * has expired, on Redis's clock. A worker with no entry is not among them: gone long enough to
   * be forgotten (its BullMQ locks have expired too), or of a release that does not beat.
   */
  async expired(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { replies, redisNow } = await this.withRedisTime(this.redis.pipeline().zmscore(WORKERS_ALIVE_KEY, ...ids));
    const [expiries] = replies as [(string | null)[]];
    return new Set(ids.filter((_, i) => expiries[i] !== null && Number(expiries[i]) < redisNow));
  }

  /**
   * Runs `commands` and Redis's TIME in one round trip: their replies (the first error thrown),
   * and Redis's clock in ms, which liveness expiries are on (hosts' clocks may differ).
   */
  private async withRedisTime(commands: ChainableCommander): Promise<{ replies: unknown[]; redisNow: number }> {
    const replies = await execReplies(commands.time());
    const [seconds, micros] = replies.pop() as [string, string];
    return { replies, redisNow: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) };
  }

  /**
   * Resolves once every live worker, not draining, that would serve the model `load` loaded (its WORKER_MODELS
   * select one of the versions served) has applied the load (`seq`: its place in the change
   * sequence; a worker's heartbeat says how far it has applied) and serves each such version
   * from the files the load read (by content, `digest`, when its heartbeat says): a load answers
   * when the model is ready, as Triton's does, not from what a worker served before an unload it
   * has not applied yet, and not while a worker still runs a file the load replaced (a
   * lifecycle audit: 28 answers from the old file after the load had answered). At once when no
   * live worker would serve it. Once every such worker has applied it, it answers whatever they
   * serve (one that could not open a new file keeps what it served: the index names it), and
   * throws `model-not-ready` when none serves it (none could open it: a CUDA model on workers
   * without CUDA). After `ms` the same, for workers yet to apply it. Workers of releases that do
   * not say what they applied: once one serves it, as before.
   */
  async untilServed(load: LoadedModel, ms: number): Promise<void> {
    const { name: model, seq, versions } = load;
    const deadline = Date.now() + ms;
    const selects = (w: LiveWorker, version?: number) => !w.serves || workerModelsSelect(w.serves, model, version);
    // A worker that drains applies nothing more: never waited for (a load waited out its 10 s).
    const wouldServe = (w: LiveWorker) => !w.draining && (versions.length ? versions.some((v) => selects(w, v.version)) : selects(w));
    const says = (w: LiveWorker) => w.changes_applied !== undefined;
    const applied = (w: LiveWorker) => !says(w) || w.changes_applied! >= seq;
    const servesSome = (w: LiveWorker) => w.models.some((m) => m.model === model);
    const servesAll = (w: LiveWorker) => versions.filter((v) => selects(w, v.version)).every((v) => servedFiles(w, model, v.version, v.digest) === 'same');
    for (;;) {
      const would = (await this.live(true)).filter(wouldServe);
      if (would.length === 0) return;
      const done = would.filter(applied);
      if (would.some((w) => !says(w))) {
        if (done.some(servesSome) || Date.now() >= deadline) return;
      } else if (done.length === would.length && done.every(servesAll)) {
        return;
      } else if (done.length === would.length || Date.now() >= deadline) {
        if (done.some(servesSome)) return;
        const why = refusalsOf(done, model);
        throw new AppError('model-not-ready', done.length === would.length
          ? `${model} is loaded, but none of the ${would.length} live workers that would serve it could open it (${why || 'their logs say why'}); its requests wait queued until one does`
          : `${model} is loaded, but no live worker serves it after ${ms / 1000} s; its requests wait queued until one does`);
      }
      await new Promise((r) => setTimeout(r, UNTIL_SERVED_POLL_MS));
    }
  }

  /** version → number of live workers serving it, for one model. */
  async servingCounts(model: string): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const w of await this.live()) {
      if (w.draining) continue; // it takes no job of it any more
      for (const m of w.models) if (m.model === model) counts.set(m.version, (counts.get(m.version) ?? 0) + 1);
    }
    return counts;
  }

  /** The execution provider live workers run `model`/`version` on ('cpu' when none serves it). */
  async provider(model: string, version: number): Promise<string> {
    const on = (await this.live()).flatMap((w) => w.models).filter((m) => m.model === model && m.version === version);
    return on.some((m) => m.provider.includes('cuda')) ? 'cuda' : 'cpu';
  }

  /** Metrics JSON (prom-client getMetricsAsJSON) of each live worker, and the last of each that stopped cleanly within WORKER_METRICS_LINGER_MS. */
  async metrics(): Promise<{ id: string; metrics: unknown }[]> {
    const live = (await this.live()).map((w) => w.id);
    // Workers that stopped cleanly within WORKER_METRICS_LINGER_MS (on the cluster's clock): their
    // last counts (heartbeat.ts `stop`). Older entries are left for a heartbeat's FORGET_GONE_LUA
    // to delete, so a scrape only reads (and answers while Redis refuses writes).
    const recent = await this.redis.zrangebyscore(WORKERS_GONE_KEY, clusterNow() - WORKER_METRICS_LINGER_MS, '+inf');
    const ids = [...new Set([...live, ...recent])];
    if (ids.length === 0) return [];
    const all = await this.redis.hmget(WORKERS_METRICS_KEY, ...ids);
    return ids.flatMap((id, i) => (all[i] ? [{ id, metrics: JSON.parse(all[i]!) as unknown }] : []));
  }
}

/**
 * How worker `w` serves `model` version `version`, against `digest` (what this API read, by
 * content: `modelDigests`): from the same files (or from files it does not name: a worker of an
 * older release), from other files (another copy of the repository, a change not read yet), or
 * not at all. What a load waits for and what the repository index warns of.
 */
export function servedFiles(w: LiveWorker, model: string, version: number, digest: string | undefined): 'same' | 'other' | 'none' {
  const s = w.models.find((m) => m.model === model && m.version === version);
  if (!s) return 'none';
  return s.digest === undefined || s.digest === digest ? 'same' : 'other';
}
