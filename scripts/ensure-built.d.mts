/** Types of ensure-built.mjs, for its test. */
export function isStale(repoRoot: string, workspace: string): boolean;
export function stamp(repoRoot: string, workspace: string): void;
