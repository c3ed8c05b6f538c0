import { describe, expect, it } from 'vitest';
import type { TensorSpec } from '@maas/shared';
import { batchFileProblem } from './answerable.js';

const t = (name: string, shape: number[]): TensorSpec => ({ name, datatype: 'FP32', shape });
const model = (batchable: boolean, inputs: TensorSpec[], outputs: TensorSpec[]) => ({ model: 'm', batchable, inputs, outputs });

describe('batchFileProblem', () => {
  it('answers a model that batches, and one whose inputs and outputs share a fixed first dimension', () => {
    expect(batchFileProblem(model(true, [t('x', [-1, 4])], [t('y', [-1, 2])]))).toBeUndefined();
    expect(batchFileProblem(model(false, [t('a', [2, 3]), t('b', [2, 3])], [t('y', [2, 3])]))).toBeUndefined();
  });

  it('refuses a model that cannot batch and whose outputs are not a line\'s rows', () => {
    expect(batchFileProblem(model(false, [t('x', [-1, 4])], [t('total', []), t('rowmax', [-1])]))).toBe(
      "m cannot answer a batch file a line at a time: it cannot batch, and its outputs' first dimension is not a line's rows. Send its requests through v2 infer or /v1/jobs",
    );
    expect(batchFileProblem(model(false, [t('x', [1, 4])], [t('y', [1, 4]), t('mean', [4])]))).toMatch(/its output 'mean' has shape \[4\], whose first dimension is not its inputs' 1 rows/);
    expect(batchFileProblem(model(false, [t('x', [1, 4]), t('k', [2])], [t('y', [1, 4])]))).toMatch(/it cannot batch/);
  });
});
