import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFolders, versionFolders, versionFoldersOf } from './version-folders.js';

describe('modelFolders and versionFolders', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'maas-version-folders-'));
    for (const d of ['mlp/10', 'mlp/2', 'mlp/01', 'mlp/1.0', 'mlp/x', 'penguins/1']) await mkdir(join(root, d), { recursive: true });
    await writeFile(join(root, 'mlp/3'), 'a file named as a version'); // not a folder
    await writeFile(join(root, 'README.md'), 'not a model');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('lists model folders, not files', async () => {
    expect((await modelFolders(root)).sort()).toEqual(['mlp', 'penguins']);
  });

  it('lists folders named as a version, ascending as numbers, and nothing spelled otherwise', async () => {
    expect(await versionFoldersOf(root, 'mlp')).toEqual([2, 10]);
    expect(await versionFolders(join(root, 'penguins'))).toEqual([1]);
  });

  it('reads a folder that cannot be read as empty', async () => {
    expect(await modelFolders(join(root, 'nope'))).toEqual([]);
    expect(await versionFoldersOf(root, 'nope')).toEqual([]);
  });
});
