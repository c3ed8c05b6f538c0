/**
 * Every way the API and the worker are started passes each its V8 flags, SERVICE_NODE_FLAGS
 * (packages/shared/src/node-flags.ts): V8 does not read them from NODE_OPTIONS, so a launcher
 * that forgets them runs a slower process, silently. Checked offline: the Dockerfile's
 * commands, docker-compose.yml's, the npm scripts and scripts/start.mjs (which imports the
 * constant itself; the e2e harness does too). deploy/k8s uses the image's commands.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SERVICE_NODE_FLAGS } from '@maas/shared';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The words of a command line from `node` on, e.g. "exec node --x apps/api/dist/main.js" → node, --x, …. */
function nodeCommand(line: string): string[] {
  const words = line.trim().split(/\s+/);
  return words.slice(words.indexOf('node'));
}

/** What a launcher of `role` runs: `node`, then its flags, then the entry point. */
const expected = (role: 'api' | 'worker', entry = `apps/${role}/dist/main.js`) => ['node', ...SERVICE_NODE_FLAGS[role], entry];

describe('launchers pass SERVICE_NODE_FLAGS', () => {
  it('names at least one flag (empty lists would make this suite vacuous)', () => {
    expect(SERVICE_NODE_FLAGS.worker.length).toBeGreaterThan(0);
  });

  it('the Dockerfile: the api and worker stages\' commands', () => {
    const cmds = [...read('Dockerfile').matchAll(/^CMD (\[.*\])$/gm)].map((m) => JSON.parse(m[1]!) as string[]);
    expect(cmds).toContainEqual(expected('api'));
    expect(cmds).toContainEqual(expected('worker'));
    expect(cmds.filter((c) => c.some((w) => w.endsWith('dist/main.js')))).toHaveLength(2);
  });

  it('docker-compose.yml: the api and worker services', () => {
    const compose = parse(read('docker-compose.yml')) as { services: Record<string, { command: string[] }> };
    const apiScript = compose.services['api']!.command.at(-1)!;
    const execLine = apiScript.split('\n').find((l) => l.includes('dist/main.js'))!;
    expect(nodeCommand(execLine)).toEqual(expected('api'));
    expect(compose.services['worker']!.command).toEqual(expected('worker'));
  });

  it('the npm scripts: the root api/worker scripts and each app\'s start', () => {
    const root = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(nodeCommand(root.scripts['api']!.split('&&').at(-1)!)).toEqual(expected('api'));
    expect(nodeCommand(root.scripts['worker']!.split('&&').at(-1)!)).toEqual(expected('worker'));
    for (const app of ['api', 'worker'] as const) {
      const pkg = JSON.parse(read(`apps/${app}/package.json`)) as { scripts: Record<string, string> };
      expect(nodeCommand(pkg.scripts['start']!)).toEqual(expected(app, 'dist/main.js'));
    }
  });

  it('scripts/start.mjs (npm start) spawns each with its flags from the constant itself', () => {
    expect(read('scripts/start.mjs')).toMatch(/spawn\(process\.execPath, \[\.\.\.SERVICE_NODE_FLAGS\[name\], /);
    expect(read('scripts/start.mjs')).toMatch(/run\('api', 'apps\/api\/dist\/main\.js'/);
    expect(read('scripts/start.mjs')).toMatch(/run\('worker', 'apps\/worker\/dist\/main\.js'/);
  });
});

describe('docker-compose.yml gives each service its time to stop', () => {
  const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN);
  it('the api: SHUTDOWN_GRACE_S (30) for open requests, 10 s for a Redis that does not answer, and a second to exit (Docker kills it after)', () => {
    const compose = parse(read('docker-compose.yml')) as { services: Record<string, { stop_grace_period?: string }> };
    expect(seconds(compose.services['api']!.stop_grace_period!)).toBeGreaterThanOrEqual(30 + 10 + 1);
    expect(seconds(compose.services['worker']!.stop_grace_period!)).toBeGreaterThanOrEqual(30); // a batch window and a run; its lock is 30 s
  });
});
