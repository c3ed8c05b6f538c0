import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffScans, scanRepository, settledChanges, type ModelScan, type RepositoryScan } from './scan.js';

const model = (meta: string, versions: Record<number, string>): ModelScan => ({ meta, versions: new Map(Object.entries(versions).map(([v, s]) => [Number(v), s])) });
const repo = (models: Record<string, ModelScan>): RepositoryScan => new Map(Object.entries(models));
const change = (model: string, kind: string, more: Partial<{ added: number[]; removed: number[]; changed: number[]; meta: boolean }> = {}) =>
  ({ model, kind, added: [], removed: [], changed: [], meta: false, ...more });

describe('diffScans', () => {
  const base = repo({ a: model('c1', { 1: 'x', 2: 'y' }), b: model('c', { 1: 'z' }) });

  it('equal snapshots: no change', () => {
    expect(diffScans(base, repo({ a: model('c1', { 1: 'x', 2: 'y' }), b: model('c', { 1: 'z' }) }))).toEqual([]);
  });

  it('a model folder added or removed', () => {
    const after = repo({ a: base.get('a')!, c: model('-|-', { 1: 'q' }) });
    expect(diffScans(base, after)).toEqual([change('b', 'removed', { removed: [1], meta: true }), change('c', 'added', { added: [1], meta: true })]);
  });

  it('a version added, one removed, one replaced in place, config edited', () => {
    const after = repo({ a: model('c2', { 2: 'y2', 3: 'w' }), b: base.get('b')! });
    expect(diffScans(base, after)).toEqual([change('a', 'changed', { added: [3], removed: [1], changed: [2], meta: true })]);
  });
});

describe('settledChanges', () => {
  const applied = repo({ a: model('c', { 1: 'x' }) });

  it('a file still moving between two snapshots is not taken; once still, it is', () => {
    const copying1 = repo({ a: model('c', { 1: 'x', 2: 'model.onnx=100' }) });
    const copying2 = repo({ a: model('c', { 1: 'x', 2: 'model.onnx=200' }) });
    expect(settledChanges(applied, applied, copying1)).toEqual([]);
    expect(settledChanges(applied, copying1, copying2)).toEqual([]);
    expect(settledChanges(applied, copying2, copying2)).toEqual([change('a', 'changed', { added: [2] })]);
  });

  it('only the settled models of a snapshot are handed over', () => {
    const prev = repo({ a: model('c', { 1: 'x' }), n: model('-', { 1: 'half' }) });
    const cur = repo({ a: model('c', { 1: 'x', 2: 'grown' }), n: model('-', { 1: 'half' }) });
    expect(settledChanges(applied, prev, cur)).toEqual([change('n', 'added', { added: [1], meta: true })]);
  });

  it('a model folder removed is settled once it was already gone in the previous snapshot', () => {
    expect(settledChanges(applied, repo({}), repo({}))).toEqual([change('a', 'removed', { removed: [1], meta: true })]);
  });

  it('nothing changed since the last applied snapshot: nothing to do', () => {
    expect(settledChanges(applied, applied, applied)).toEqual([]);
  });
});

describe('scanRepository', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'maas-scan-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stamps config, labels and every file of each version folder; a rewrite changes the stamp', async () => {
    await mkdir(join(root, 'm/1'), { recursive: true });
    await mkdir(join(root, 'm/notaversion'), { recursive: true });
    await writeFile(join(root, 'm/1/model.onnx'), 'abc');
    await writeFile(join(root, 'm/config.json'), '{}');
    await writeFile(join(root, 'file-at-root'), '');
    const first = await scanRepository(root);
    expect([...first.keys()]).toEqual(['m']);
    expect([...first.get('m')!.versions.keys()]).toEqual([1]);
    expect(first.get('m')!.versions.get(1)).toMatch(/^model\.onnx=3:/);
    expect(first.get('m')!.meta).toMatch(/^2:.*\|-$/);
    await writeFile(join(root, 'm/1/model.onnx'), 'abcd');
    expect(diffScans(first, await scanRepository(root))).toEqual([change('m', 'changed', { changed: [1] })]);
  });
});
