/** PURE: which of a model's versions a version policy serves (Triton semantics). */
import type { VersionPolicy } from './config.js';

/** Versions served, newest first. `specific` versions that do not exist are reported by the caller. */
export function servedVersions(available: readonly number[], policy: VersionPolicy): number[] {
  const sorted = [...new Set(available)].sort((a, b) => b - a);
  if ('latest' in policy) return sorted.slice(0, policy.latest);
  if ('all' in policy) return sorted;
  const wanted = new Set(policy.specific);
  return sorted.filter((v) => wanted.has(v));
}

/**
 * Which versions to serve when some of them cannot be loaded: the policy applied to the
 * versions that are not broken. So with `{"latest": 1}` a broken version 3 leaves version 2
 * served (a broken new version never replaces a working one), and with `specific` a broken
 * version is simply not served.
 */
export function servedAmong(available: readonly number[], policy: VersionPolicy, broken: ReadonlySet<number>): number[] {
  return servedVersions(available.filter((v) => !broken.has(v)), policy);
}

/**
 * Loads the versions a policy serves, trying the next candidate whenever one fails: `load`
 * is called once per version, newest first, only for versions the policy would serve given
 * the failures so far. Returns what loaded (in served order, newest first) and why the
 * others failed. Pure apart from `load`.
 */
export async function loadServed<T>(
  available: readonly number[],
  policy: VersionPolicy,
  load: (version: number) => Promise<T>,
): Promise<{ served: { version: number; value: T }[]; broken: Map<number, string> }> {
  const broken = new Map<number, string>();
  const loaded = new Map<number, T>();
  for (;;) {
    const wanted = servedAmong(available, policy, new Set(broken.keys()));
    const next = wanted.find((v) => !loaded.has(v));
    if (next === undefined) return { served: wanted.map((version) => ({ version, value: loaded.get(version)! })), broken };
    try {
      loaded.set(next, await load(next));
    } catch (err) {
      broken.set(next, (err as Error).message);
    }
  }
}
