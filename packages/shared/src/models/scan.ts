/**
 * A stat-only snapshot of a model repository (no file is read), and its pure comparison: what
 * changed between two snapshots, and which of those changes have settled. The poller
 * (poller.ts) takes one snapshot per period; a change is acted on only once two snapshots in a
 * row agree on it, so a file still being copied (its size or mtime still moving) is never taken.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { versionFolders } from './version-folders.js';

/** What a model folder holds, as stamps (size, mtime, inode) of its files. */
export interface ModelScan {
  /** config.json and labels.txt */
  meta: string;
  /** version folder → the stamps of the files in it */
  versions: Map<number, string>;
}

/** model folder name → what it holds */
export type RepositoryScan = Map<string, ModelScan>;

export interface ModelChange {
  model: string;
  kind: 'added' | 'removed' | 'changed';
  /** version folders that appeared, disappeared, or whose files changed */
  added: number[];
  removed: number[];
  changed: number[];
  /** config.json or labels.txt changed */
  meta: boolean;
}

/** A file's size, mtime and inode ('-' when it does not exist): equal stamps, same file. */
export async function stampOf(path: string): Promise<string> {
  return stat(path).then((s) => `${s.size}:${s.mtimeMs}:${s.ino}`, () => '-');
}

/** Stats every model folder of `root`; throws only when `root` itself cannot be read. */
export async function scanRepository(root: string): Promise<RepositoryScan> {
  const scan: RepositoryScan = new Map();
  for (const m of await readdir(root, { withFileTypes: true })) {
    if (!m.isDirectory()) continue;
    const name = m.name;
    const dir = join(root, name);
    const versions = new Map<number, string>();
    for (const v of await versionFolders(dir)) {
      const files = (await readdir(join(dir, String(v))).catch(() => [])).sort();
      const stamps = await Promise.all(files.map(async (f) => `${f}=${await stampOf(join(dir, String(v), f))}`));
      versions.set(v, stamps.join(','));
    }
    scan.set(name, { meta: `${await stampOf(join(dir, 'config.json'))}|${await stampOf(join(dir, 'labels.txt'))}`, versions });
  }
  return scan;
}

/** PURE: how model folder `after` differs from `before` (undefined: absent); undefined when equal. */
export function diffModel(model: string, before: ModelScan | undefined, after: ModelScan | undefined): ModelChange | undefined {
  const b = before?.versions ?? new Map<number, string>();
  const a = after?.versions ?? new Map<number, string>();
  const added = [...a.keys()].filter((v) => !b.has(v)).sort((x, y) => x - y);
  const removed = [...b.keys()].filter((v) => !a.has(v)).sort((x, y) => x - y);
  const changed = [...a.keys()].filter((v) => b.has(v) && b.get(v) !== a.get(v)).sort((x, y) => x - y);
  const meta = (before?.meta ?? '') !== (after?.meta ?? '');
  if (before && after && !meta && !added.length && !removed.length && !changed.length) return undefined;
  if (!before && !after) return undefined;
  return { model, kind: !before ? 'added' : !after ? 'removed' : 'changed', added, removed, changed, meta };
}

/** PURE: every model folder that differs between two snapshots, by name. */
export function diffScans(before: RepositoryScan, after: RepositoryScan): ModelChange[] {
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  return names.map((n) => diffModel(n, before.get(n), after.get(n))).filter((c): c is ModelChange => c !== undefined);
}

/**
 * PURE: the changes from `applied` (what was last acted on) to `current` that have settled:
 * the model folder looked the same in the `previous` snapshot, one poll period earlier.
 */
export function settledChanges(applied: RepositoryScan, previous: RepositoryScan, current: RepositoryScan): ModelChange[] {
  return diffScans(applied, current).filter((c) => diffModel(c.model, previous.get(c.model), current.get(c.model)) === undefined);
}
