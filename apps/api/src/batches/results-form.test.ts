import { describe, expect, it } from 'vitest';
import type { AppError } from '@maas/shared';
import { npyHeader } from './npy.js';
import { npyResults, refusesNdjson, resultsForm, type NpyResultsOf } from './results-form.js';

const penguins: NpyResultsOf = {
  id: 'batch_x', model: 'penguins', failed: 0, total: 3, rows: '3',
  outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }, { name: 'label', datatype: 'INT64', shape: [-1] }],
};
const mlp: NpyResultsOf = { ...penguins, model: 'mlp', outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 2] }] };

const refusal = (f: () => unknown): AppError => {
  try {
    f();
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected a refusal');
};

describe('npyResults', () => {
  it('is the one output, or the one named', () => {
    // The header is 128 bytes (64-aligned), then the rows.
    expect(npyResults(mlp, undefined)).toEqual({ output: 'output', descr: '<f4', rows: 3, rest: [2], length: 128 + 3 * 2 * 4 });
    expect(npyResults(penguins, 'label')).toEqual({ output: 'label', descr: '<i8', rows: 3, rest: [], length: 128 + 3 * 8 });
  });

  it("knows the file's length only when the signature fixes a row's shape", () => {
    const symbolic: NpyResultsOf = { ...mlp, outputs: [{ name: 'output', datatype: 'FP16', shape: [-1, -1, 4] }] };
    expect(npyResults(symbolic, undefined)).toEqual({ output: 'output', descr: '<f2', rows: 3, rest: [0, 4], length: undefined });
    const many: NpyResultsOf = { ...mlp, rows: '1000000', outputs: [{ name: 'output', datatype: 'BOOL', shape: [-1, 7] }] };
    expect(npyResults(many, undefined).length).toBe(npyHeader('|b1', [1_000_000, 7]).length + 7_000_000);
  });

  it('is a 400 for an output the model does not have, a 406 for results an array cannot hold', () => {
    expect(refusal(() => npyResults(penguins, 'nope'))).toMatchObject({ type: 'invalid-input', status: 400 });
    expect(refusal(() => npyResults(penguins, undefined))).toMatchObject({ type: 'not-acceptable', detail: expect.stringMatching(/\?output=/) });
    expect(refusal(() => npyResults({ ...mlp, failed: 1 }, undefined))).toMatchObject({ type: 'not-acceptable', detail: expect.stringMatching(/1 of 3 lines failed/) });
    expect(refusal(() => npyResults({ ...mlp, rows: undefined }, undefined))).toMatchObject({ type: 'not-acceptable' });
    const text: NpyResultsOf = { ...mlp, outputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }] };
    expect(refusal(() => npyResults(text, undefined))).toMatchObject({ type: 'not-acceptable', detail: expect.stringMatching(/BYTES/) });
  });
});

describe('resultsForm', () => {
  const failed = () => npyResults({ ...mlp, failed: 1 }, undefined);

  it('is .npy when preferred and possible, NDJSON when not preferred', () => {
    expect(resultsForm(true, true, () => npyResults(mlp, undefined))).toMatchObject({ type: 'npy', npy: { output: 'output' } });
    expect(resultsForm(false, true, () => { throw new Error('not asked'); })).toEqual({ type: 'ndjson' });
  });

  it('falls back to NDJSON when .npy cannot be given and NDJSON is acceptable too; a 406 only when it is not', () => {
    expect(resultsForm(true, true, failed)).toEqual({ type: 'ndjson' });
    expect(resultsForm(true, true, () => npyResults(penguins, undefined))).toEqual({ type: 'ndjson' });
    expect(refusal(() => resultsForm(true, false, failed))).toMatchObject({ type: 'not-acceptable', status: 406 });
  });

  it('keeps a 400 (an output the model does not have) whatever else is acceptable', () => {
    expect(refusal(() => resultsForm(true, true, () => npyResults(penguins, 'nope')))).toMatchObject({ status: 400 });
  });
});

describe('refusesNdjson', () => {
  it('is true only for an Accept that gives NDJSON, or a range over it, q=0', () => {
    expect(refusesNdjson('application/x-ndjson;q=0')).toBe(true);
    expect(refusesNdjson('text/csv, application/x-ndjson; q=0.0')).toBe(true);
    expect(refusesNdjson('Application/X-NDJSON;Q=0')).toBe(true);
    expect(refusesNdjson('text/csv, */*;q=0')).toBe(true);
    expect(refusesNdjson('application/*;q=0')).toBe(true);
    expect(refusesNdjson('application/x-ndjson;q=0.5')).toBe(false);
    expect(refusesNdjson('application/json')).toBe(false);
    expect(refusesNdjson('*/*')).toBe(false);
    expect(refusesNdjson(undefined)).toBe(false);
  });
});
