/** Temporary model repositories: the shipped models, with config.json overrides per test. */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
