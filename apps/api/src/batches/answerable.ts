/**
 * PURE: whether a model's answers can be written a line at a time. A batch's result lines take
 * each line's rows of every output (results.ts), so every output's first dimension must be the
 * line's rows: a model that batches has that; one that cannot batch has it only when its inputs
 * and outputs share a fixed first dimension (`[1, 4]` in, `[1, 2]` out). Others (a sum over the
 * rows, a shape, a fixed-size output beside row outputs) wrote invalid or wrong lines, or a 500
 * (a model-zoo audit), and are refused at upload.
 */
import type { ModelVersion } from '@maas/shared';

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Why `v`'s batch files cannot be answered (undefined: they can). */
export function batchFileProblem(v: Pick<ModelVersion, 'model' | 'batchable' | 'inputs' | 'outputs'>): string | undefined {
  if (v.batchable) return undefined;
  const rows = v.inputs[0]?.shape[0];
  const fixed = rows !== undefined && rows >= 1 && v.inputs.every((s) => s.shape[0] === rows);
  const stray = fixed ? v.outputs.find((o) => o.shape[0] !== rows) : v.outputs[0];
  if (!stray && fixed) return undefined;
  const why = fixed
    ? `its output '${stray!.name}' has shape ${fmt(stray!.shape)}, whose first dimension is not its inputs' ${rows} rows`
    : "it cannot batch, and its outputs' first dimension is not a line's rows";
  return `${v.model} cannot answer a batch file a line at a time: ${why}. Send its requests through v2 infer or /v1/jobs`;
}
