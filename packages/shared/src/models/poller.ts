/**
 * Polls a model repository for changes (Triton's `--model-control-mode=poll` with
 * `--repository-poll-secs`): a model folder or a version folder added or removed, a file
 * replaced in place, config.json or labels.txt edited.
 *
 * A periodic stat-only rescan rather than a file watcher (chokidar, fs.watch): repositories
 * live on network file systems and Kubernetes volumes (NFS, SMB, a ConfigMap swapped through a
 * symlink, a volume synced by a sidecar) where inotify events are missing or partial, and the
 * one promise that matters here, "never take a half-copied file", needs a second look after a
 * quiet period anyway (chokidar's `awaitWriteFinish` is itself stat polling). A scan stats a
 * few files per version: cheap at a period of seconds, and it behaves the same everywhere.
 *
 * A change is handed over once it has settled (two snapshots a period apart agree, scan.ts);
 * it is marked done only when the handler succeeds, so a handler that fails (Redis away) sees
 * it again on the next tick. Ticks never overlap.
 */
import type { Logger } from '../logger.js';
import { scanRepository, settledChanges, type ModelChange, type RepositoryScan } from './scan.js';

export class RepositoryPoller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly root: string,
    private readonly periodMs: number,
    private readonly log: Logger,
    private applied: RepositoryScan,
    private previous: RepositoryScan,
  ) {}

  /**
   * The snapshot changes are measured from: take it before reading the repository, so a
   * change made while it is read is acted on. `periodMs` 0 turns polling off.
   */
  static async baseline(root: string, periodMs: number, log: Logger): Promise<RepositoryPoller> {
    const scan = periodMs > 0 ? await scanRepository(root).catch(() => new Map()) : new Map();
    return new RepositoryPoller(root, periodMs, log, scan, scan);
  }

  /** Calls `onChange` with the settled changes of each period (nothing when polling is off). */
  start(onChange: (changes: ModelChange[]) => Promise<void>): void {
    if (this.periodMs <= 0 || this.closed) return;
    const tick = () => {
      this.running = this.poll(onChange).finally(() => {
        if (!this.closed) this.timer = setTimeout(tick, this.periodMs).unref();
      });
    };
    this.timer = setTimeout(tick, this.periodMs).unref();
  }

  /** One period's work: scan, hand over the settled changes, mark them done if the handler succeeds. */
  async poll(onChange: (changes: ModelChange[]) => Promise<void>): Promise<void> {
    let current: RepositoryScan;
    try {
      current = await scanRepository(this.root);
    } catch (err) {
      this.log.warn({ err, root: this.root }, 'model repository cannot be scanned');
      return;
    }
    const changes = settledChanges(this.applied, this.previous, current);
    this.previous = current;
    if (changes.length === 0) return;
    this.log.info({ changes }, 'model repository changed');
    try {
      await onChange(changes);
    } catch (err) {
      this.log.error({ err }, 'model repository change not applied: retried next period');
      return;
    }
    const applied = new Map(this.applied);
    for (const c of changes) {
      const now = current.get(c.model);
      if (now) applied.set(c.model, now);
      else applied.delete(c.model);
    }
    this.applied = applied;
  }

  /** Stops polling; waits for a tick in progress. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
