/**
 * The express app's routes against the route table: every route the app registers is
 * documented, and every documented operation is a route the app registers. The app is built
 * with stub dependencies (createApp only wires routers; nothing here handles a request).
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '@maas/shared';
import { createApp } from '../app.js';
import { partsOf } from '../http/compose.js';
import type { Deps } from '../deps.js';
import { ROUTES } from './routes.js';

interface Layer {
  name: string;
  rawPath?: string | RegExp | (string | RegExp)[];
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: { stack?: Layer[]; handle?: unknown; set?: unknown };
}

/** Just what createApp reads while wiring (the admin queue board lists the queues it has). */
const stubDeps = (): Deps =>
  ({
    config: { ADMIN_KEY: undefined, API_KEYS: undefined, MAX_BODY_MB: 1 },
    log: createLogger('test', 'silent'),
    catalog: { models: [] },
    // what @bull-board's BullMQAdapter accepts as a BullMQ queue
    webhookQueue: { name: 'deliveries', metaValues: { version: 'bullmq:stub' } },
  }) as unknown as Deps;

const paths = (p: Layer['rawPath']): string[] => (Array.isArray(p) ? p : p === undefined ? [] : [p]).map(String);
const openApiPath = (express: string) => express.replace(/:(\w+)/g, '{$1}');

/**
 * "get /v2/models/{model}" for every method of every route, through routers mounted at any
 * path; an application mounted at a path (the queue board) is one opaque "mount /path".
 */
function registered(stack: Layer[], prefix = ''): string[] {
  return stack.flatMap((layer): string[] => {
    if (layer.route) {
      const methods = Object.keys(layer.route.methods).filter((m) => m !== '_all');
      return paths(layer.route.path).flatMap((p) => methods.map((m) => `${m} ${openApiPath(prefix + p)}`));
    }
    const at = paths(layer.rawPath).map((p) => (p === '/' ? '' : p));
    if (typeof layer.handle.handle === 'function' && typeof layer.handle.set === 'function') return at.map((p) => `mount ${prefix}${p}`);
    if (layer.handle.stack) return at.flatMap((p) => registered(layer.handle.stack!, prefix + p));
    // Routers and checks put together in one layer (http/compose.ts), which leave the URL whole.
    const parts = partsOf(layer.handle);
    if (parts) return at.flatMap((p) => registered(parts.map((handle) => ({ name: 'part', rawPath: '/', handle: handle as Layer['handle'] })), prefix + p));
    return []; // middleware
  });
}

describe('the route table', () => {
  const app = createApp(stubDeps()) as unknown as { router: { stack: Layer[] } };
  const routes = registered(app.router.stack);
  const documented = ROUTES.map((r) => `${r.method} ${r.path}`);

  it('documents every route the app serves, and no route it does not', () => {
    const served = routes.filter((r) => !r.startsWith('mount '));
    expect(served.length).toBeGreaterThan(30);
    expect(served.filter((r) => !documented.includes(r)), 'served but not in openapi/routes.ts').toEqual([]);
    const mounts = routes.filter((r) => r.startsWith('mount ')).map((r) => `get ${r.slice('mount '.length)}`);
    expect(documented.filter((d) => !served.includes(d) && !mounts.includes(d)), 'documented but not served').toEqual([]);
  });

  it('documents each mounted application (the queue board) by its entry page', () => {
    const mounts = routes.filter((r) => r.startsWith('mount '));
    expect(mounts).toEqual(['mount /admin/queues']);
    for (const m of mounts) expect(documented).toContain(`get ${m.slice('mount '.length)}`);
  });

  it('lists each operation once', () => {
    expect(new Set(documented).size).toBe(documented.length);
  });
});
