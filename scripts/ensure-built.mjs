#!/usr/bin/env node
/**
 * `npm run api` / `npm run worker` / `npm start`: build only when a workspace changed since it
 * was last built, so a start with fresh output is immediate (no turbo, no tsc).
 *
 *   node scripts/ensure-built.mjs packages/shared apps/api
 *
 * After a build this script stamps each workspace (node_modules/.cache/maas-built/); a
 * workspace is stale when it has no stamp or dist/, or when a file under its src/ (or its
 * package.json, its tsconfig*.json, the root tsconfig.base.json) is newer than the stamp.
 * Stale workspaces are built with `turbo run build` (through ^build, what they depend on too;
 * turbo replays its cache when the contents did not change).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function files(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

const stampOf = (repoRoot, workspace) => join(repoRoot, 'node_modules/.cache/maas-built', workspace.replace(/[\\/]/g, '__'));

/** Is this workspace's build older than its inputs (or missing)? */
export function isStale(repoRoot, workspace) {
  const dir = join(repoRoot, workspace);
  const stamp = stampOf(repoRoot, workspace);
  if (!existsSync(stamp) || !existsSync(join(dir, 'dist'))) return true;
  const builtAt = statSync(stamp).mtimeMs;
  const inputs = [
    ...files(join(dir, 'src')).filter((f) => !f.endsWith('.test.ts')),
    join(dir, 'package.json'),
    ...readdirSync(dir).filter((f) => /^tsconfig.*\.json$/.test(f)).map((f) => join(dir, f)),
    join(repoRoot, 'tsconfig.base.json'),
  ].filter((f) => existsSync(f));
  return inputs.some((f) => statSync(f).mtimeMs > builtAt);
}

/** Records that `workspace` was built from its inputs as they are now. */
export function stamp(repoRoot, workspace) {
  const file = stampOf(repoRoot, workspace);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${new Date().toISOString()}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const workspaces = process.argv.slice(2);
  const stale = workspaces.filter((w) => isStale(root, w));
  if (stale.length > 0) {
    const names = stale.map((w) => JSON.parse(readFileSync(join(root, w, 'package.json'), 'utf8')).name);
    // `npm run build` (turbo) leaves no stamp: then turbo's cache makes this build a replay.
    const recorded = stale.every((w) => existsSync(stampOf(root, w)));
    console.error(
      recorded
        ? `building ${names.join(', ')} (changed since the last build)`
        : `checking the build of ${names.join(', ')} (none recorded by this script yet: turbo rebuilds what changed and replays the rest from its cache)`,
    );
    const started = Date.now();
    const r = spawnSync(process.execPath, [join(root, 'node_modules/turbo/bin/turbo'), 'run', 'build', ...names.map((n) => `--filter=${n}`), '--output-logs=errors-only'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}build failed\n`);
      process.exit(r.status ?? 1);
    }
    for (const w of stale) stamp(root, w);
    console.error(`${recorded ? 'built' : 'checked'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
