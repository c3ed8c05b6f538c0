/**
 * PURE: which requests (v2 infer requests, and `/v1/jobs` creates packed into carrier jobs:
 * services/job-packer.ts) may share one job, and the job they share.
 *
 * Requests may be packed when they belong to one tenant and ask the same model version, at the
 * same priority, for the same outputs with inputs of the same names, datatypes and shapes but
 * the first dimension:
 * their rows can then follow each other in one job, and each request's answer is its own range
 * of rows of the job's outputs. A pack holds at most `cap` rows (the model's max_batch_size:
 * one ONNX run), so packing never makes a run larger than the model allows.
 */
import { concatRows, type CheckedRequest } from '@maas/shared';

/** Equal for requests that may be packed together. */
export function packKey(tenant: string, model: string, version: number, checked: CheckedRequest, priority: number | undefined): string {
  const inputs = checked.inputs.map((t) => `${t.name}:${t.datatype}:${t.shape.slice(1).join('x')}`).join('|');
  return `${tenant}\n${model}\n${version}\n${inputs}\n${JSON.stringify(checked.outputs)}\n${priority ?? ''}`;
}

/**
 * Splits requests (their row counts, in arrival order) into packs of at most `cap` rows, in
 * order: each pack is the indexes of its requests. A request of `cap` rows or more is a pack alone.
 */
export function planPacks(rows: readonly number[], cap: number): number[][] {
  const packs: number[][] = [];
  let current: number[] = [];
  let filled = 0;
  rows.forEach((n, i) => {
    if (current.length > 0 && filled + n > cap) {
      packs.push(current);
      current = [];
      filled = 0;
    }
    current.push(i);
    filled += n;
  });
  if (current.length > 0) packs.push(current);
  return packs;
}

/** The request a pack is queued as: each input's rows joined in the members' order. */
export function mergeRequests(members: readonly CheckedRequest[]): { checked: CheckedRequest; offsets: number[] } {
  const first = members[0];
  if (!first) throw new Error('mergeRequests: no members');
  const offsets: number[] = [];
  let rows = 0;
  for (const m of members) {
    offsets.push(rows);
    rows += m.rows;
  }
  if (members.length === 1) return { checked: first, offsets };
  const inputs = first.inputs.map((t, i) => concatRows(members.map((m) => m.inputs[i]!)));
  return { checked: { inputs, rows, outputs: first.outputs }, offsets };
}
