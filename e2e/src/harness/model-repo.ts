/** Temporary model repositories: the shipped models, with config.json overrides per test. */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './process.js';

export const SHIPPED_MODELS = join(REPO_ROOT, 'models');

export async function modelRepository(overrides: Record<string, Record<string, unknown>> = {}): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'maas-models-'));
  await cp(SHIPPED_MODELS, dir, { recursive: true });
  for (const [model, patch] of Object.entries(overrides)) {
    const file = join(dir, model, 'config.json');
    const current = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...current, ...patch }, null, 2));
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Adds model `name` (version 1: `model`'s bytes, and `config` as its config.json) to the repository at `dir`; returns the model file's path. */
export async function addModel(dir: string, name: string, model: Uint8Array, config: Record<string, unknown>): Promise<string> {
  const path = join(dir, name, '1/model.onnx');
  await mkdir(join(dir, name, '1'), { recursive: true });
  await writeFile(path, model);
  await writeFile(join(dir, name, 'config.json'), JSON.stringify(config));
  return path;
}
