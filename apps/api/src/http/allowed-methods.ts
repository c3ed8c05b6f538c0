/**
 * PURE: the methods a path is served with, from the route table (openapi/routes.ts, which a
 * test holds equal to the app's routes), for a request whose method no route takes: a 405
 * with `Allow` when the path is served at all, a 404 when it is not.
 */

/** `Allow`'s methods for a path (HEAD beside GET, and OPTIONS), or undefined when no route serves it. */
export type AllowedMethods = (path: string) => string[] | undefined;

/** The lookup for `routes` (OpenAPI paths: `{id}` is one segment). */
export function allowedMethodsOf(routes: readonly { method: string; path: string }[]): AllowedMethods {
  const byPath = new Map<string, Set<string>>();
  for (const r of routes) {
    const methods = byPath.get(r.path) ?? new Set<string>();
    methods.add(r.method.toUpperCase());
    byPath.set(r.path, methods);
  }
  const patterns = [...byPath].map(([path, methods]) => ({
    // Case-insensitive, as express's routing is by default.
    pattern: new RegExp(`^${path.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+')}/?$`, 'i'),
    methods,
  }));
  return (path) => {
    const methods = new Set<string>();
    for (const p of patterns) if (p.pattern.test(path)) for (const m of p.methods) methods.add(m);
    if (methods.size === 0) return undefined;
    if (methods.has('GET')) methods.add('HEAD');
    methods.add('OPTIONS');
    return [...methods];
  };
}
