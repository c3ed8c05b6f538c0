#!/usr/bin/env node
/**
 * `npm run api` / `npm run worker` / `npm start`: build only when a workspace's dist/ is older
 * than its sources, so a start with fresh output is immediate (no turbo, no tsc).
 *
 *   node scripts/ensure-built.mjs apps/api packages/shared
 *
 * A workspace is stale when dist/ is missing, or when a file under src/ (or its package.json,
 * its tsconfig*.json, the root tsconfig.base.json) is newer than the oldest file in dist/.
 * Stale: `turbo run build` for those workspaces (and, through ^build, what they depend on).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function files(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

const mtime = (f) => statSync(f).mtimeMs;

/** PURE over the file system: is this workspace's dist/ older than its inputs? */
export function isStale(repoRoot, workspace) {
  const dir = join(repoRoot, workspace);
  const out = files(join(dir, 'dist'));
  if (out.length === 0) return true;
  const oldestOut = Math.min(...out.map(mtime));
  const inputs = [
    ...files(join(dir, 'src')).filter((f) => !f.endsWith('.test.ts')),
    join(dir, 'package.json'),
    ...readdirSync(dir).filter((f) => /^tsconfig.*\.json$/.test(f)).map((f) => join(dir, f)),
    join(repoRoot, 'tsconfig.base.json'),
  ].filter((f) => existsSync(f));
  return inputs.some((f) => mtime(f) > oldestOut);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const stale = process.argv.slice(2).filter((w) => isStale(root, w));
  if (stale.length > 0) {
    const names = stale.map((w) => JSON.parse(readFileSync(join(root, w, 'package.json'), 'utf8')).name);
    console.error(`building ${names.join(', ')} (sources newer than dist/)`);
    const filters = names.map((n) => `--filter=${n}`);
    const r = spawnSync(process.execPath, [join(root, 'node_modules/turbo/bin/turbo'), 'run', 'build', ...filters, '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
}
