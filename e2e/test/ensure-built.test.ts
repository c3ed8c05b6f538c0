/**
 * scripts/ensure-built.mjs: `npm run api`/`worker`/`start` build a workspace only when it
 * changed since its last build (a fresh dist/ starts at once).
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isStale, stamp } from '../../scripts/ensure-built.mjs';

const root = mkdtempSync(join(tmpdir(), 'ensure-built-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const write = (path: string, atSeconds: number) => {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), 'x');
  utimesSync(join(root, path), atSeconds, atSeconds);
};

describe('ensure-built', () => {
  it('builds what was never built, then only what changed since', () => {
    write('tsconfig.base.json', 1000);
    write('apps/api/package.json', 1000);
    write('apps/api/src/main.ts', 1000);
    expect(isStale(root, 'apps/api')).toBe(true); // no dist/, no stamp
    write('apps/api/dist/main.js', 1001);
    expect(isStale(root, 'apps/api')).toBe(true); // built by someone else: not stamped yet
    stamp(root, 'apps/api');
    expect(isStale(root, 'apps/api')).toBe(false);
    write('apps/api/src/app.test.ts', Date.now() / 1000 + 60); // tests are not inputs
    expect(isStale(root, 'apps/api')).toBe(false);
    write('apps/api/src/routes/new.ts', Date.now() / 1000 + 60);
    expect(isStale(root, 'apps/api')).toBe(true);
    stamp(root, 'apps/api');
    utimesSync(join(root, 'apps/api/src/routes/new.ts'), 1000, 1000);
    expect(isStale(root, 'apps/api')).toBe(false);
    write('tsconfig.base.json', Date.now() / 1000 + 60);
    expect(isStale(root, 'apps/api')).toBe(true);
  });
});
