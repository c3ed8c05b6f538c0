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
