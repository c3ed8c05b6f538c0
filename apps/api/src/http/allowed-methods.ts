/**
 * PURE: the methods a path is served with, from the route table (openapi/routes.ts, which a
 * test holds equal to the app's routes), for a request whose method no route takes: a 405
 * with `Allow` when the path is served at all, a 404 when it is not.
 */

/** `Allow`'s methods for a path (HEAD beside GET, and OPTIONS), or undefined when no route serves it. */
export type AllowedMethods = (path: string) => readonly string[] | undefined;

const RECENT_PATHS = 1024;
/** Paths longer than this are looked up each time (kept, 1,024 request lines of 16 KB would be 16 MB). */
const LONGEST_KEPT = 256;

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
  const lookup = (path: string): readonly string[] | undefined => {
    const methods = new Set<string>();
    for (const p of patterns) if (p.pattern.test(path)) for (const m of p.methods) methods.add(m);
    if (methods.size === 0) return undefined;
    if (methods.has('GET')) methods.add('HEAD');
    methods.add('OPTIONS');
    return Object.freeze([...methods]);
  };
  // Every request is looked up (app.ts refuseUnserved): 2 µs over the ~40 patterns, so recent
  // paths are kept (an infer route's is the same request after request); ids make paths
  // unbounded, so the memory starts over when full.
  const recent = new Map<string, readonly string[] | undefined>();
  return (path) => {
    if (recent.has(path)) return recent.get(path);
    const methods = lookup(path);
    if (path.length > LONGEST_KEPT) return methods; // a client's long paths are not worth keeping
    if (recent.size >= RECENT_PATHS) recent.clear();
    recent.set(path, methods);
    return methods;
  };
}
