/**
 * What a model repository holds on disk, by name only: its model folders, and a model folder's
 * version folders (named as VERSION_TEXT spells a version). The one walk the repository's
 * readers (repository.ts, scan.ts) and the worker's start-up and leftovers share.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VERSION_TEXT } from './version-text.js';

/** The model folders of `root`, by name; none when it cannot be read. */
export async function modelFolders(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/** The versions of model folder `modelDir` on disk (a folder named as a version), ascending; none when it cannot be read. */
export async function versionFolders(modelDir: string): Promise<number[]> {
  const entries = await readdir(modelDir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && VERSION_TEXT.test(e.name)).map((e) => Number(e.name)).sort((a, b) => a - b);
}

/** `versionFolders` of model `name` in `root`. */
export const versionFoldersOf = (root: string, name: string): Promise<number[]> => versionFolders(join(root, name));
