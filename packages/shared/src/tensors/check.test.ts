import { describe, expect, it } from 'vitest';
import type { JsonTensor, RequestedOutput } from '../contract/tensor.js';
import type { InputIssue } from '../errors.js';
import { checkRequest, misfit, type CheckResult, type CheckedRequest, type Signature } from './check.js';
import { toJsonValues } from './raw.js';

const SIG: Signature = {
  inputs: [
    { name: 'a', datatype: 'FP32', shape: [-1, 3] },
    { name: 'b', datatype: 'INT32', shape: [-1, 2, 2] },
  ],
  outputs: [
    { name: 'probs', datatype: 'FP32', shape: [-1, 4] },
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'text', datatype: 'BYTES', shape: [-1, 4] },
    { name: 'scores', datatype: 'FP32', shape: [-1, -1] },
    { name: 'mask', datatype: 'BOOL', shape: [-1, 4] },
  ],
  batchable: true,
};

const FIXED: Signature = {
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [2, 3] },
    { name: 'y', datatype: 'INT32', shape: [2, 3] },
  ],
  outputs: [{ name: 'sum', datatype: 'FP32', shape: [2, 3] }],
  batchable: false,
};

const a = (rows: number, over: Partial<JsonTensor> = {}): JsonTensor => ({
  name: 'a', datatype: 'FP32', shape: [rows, 3], data: Array.from({ length: rows * 3 }, (_, i) => i + 0.5), ...over,
});
const b = (rows: number, over: Partial<JsonTensor> = {}): JsonTensor => ({
  name: 'b', datatype: 'INT32', shape: [rows, 2, 2], data: Array.from({ length: rows * 4 }, (_, i) => i - 2), ...over,
});

const ok = (r: CheckResult): CheckedRequest => {
  if (!r.ok) throw new Error(`expected ok, got: ${JSON.stringify(r.issues)}`);
  return r.value;
};
const issues = (r: CheckResult): InputIssue[] => {
  if (r.ok) throw new Error('expected issues');
  return r.issues;
};
const only = (r: CheckResult): InputIssue => {
  const list = issues(r);
  expect(list).toHaveLength(1);
  return list[0]!;
};

describe('checkRequest', () => {
  describe('valid requests', () => {
    it('encodes every input and counts the rows', () => {
      const v = ok(checkRequest(SIG, [a(2), b(2)]));
      expect(v.rows).toBe(2);
      expect(v.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([['a', 'FP32', [2, 3]], ['b', 'INT32', [2, 2, 2]]]);
      expect(toJsonValues(v.inputs[0]!)).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
      expect(toJsonValues(v.inputs[1]!)).toEqual([-2, -1, 0, 1, 2, 3, 4, 5]);
      expect(v.outputs).toEqual([]);
    });

    it('returns inputs in the model\'s declared order, whatever the request order', () => {
      const v = ok(checkRequest(SIG, [b(1), a(1)]));
      expect(v.inputs.map((t) => t.name)).toEqual(['a', 'b']);
      const fixed = ok(checkRequest(FIXED, [
        { name: 'y', datatype: 'INT32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
        { name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      ]));
      expect(fixed.inputs.map((t) => t.name)).toEqual(['x', 'y']);
    });

    it('accepts nested data', () => {
      const v = ok(checkRequest(SIG, [a(2, { data: [[1, 2, 3], [4, 5, 6]] }), b(2)]));
      expect(toJsonValues(v.inputs[0]!)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('accepts any batch size on a symbolic first dimension', () => {
      expect(ok(checkRequest(SIG, [a(17), b(17)])).rows).toBe(17);
    });

    it('passes requested outputs through, including valid classification', () => {
      const outs: RequestedOutput[] = [{ name: 'label' }, { name: 'probs', parameters: { classification: 4 } }, { name: 'scores', parameters: { classification: 50 } }];
      expect(ok(checkRequest(SIG, [a(1), b(1)], outs)).outputs).toEqual(outs);
    });
  });

  describe('input names', () => {
    it('rejects an unknown input, listing the expected ones', () => {
      const r = checkRequest(SIG, [a(1), b(1), { name: 'c', datatype: 'FP32', shape: [1], data: [1] }]);
      expect(only(r)).toEqual({ path: 'inputs[2].name', message: "unknown input 'c'; the model expects: a, b" });
    });

    it('rejects an input given twice', () => {
      expect(only(checkRequest(SIG, [a(1), b(1), a(1)]))).toEqual({ path: 'inputs[2].name', message: "input 'a' given twice" });
    });

    it('rejects a missing input, describing it', () => {
      expect(only(checkRequest(SIG, [a(1)]))).toEqual({ path: 'inputs', message: "missing input 'b' (INT32 [-1, 2, 2])" });
    });

    it('reports every missing input when none is given', () => {
      expect(issues(checkRequest(SIG, [])).map((i) => i.message)).toEqual([
        "missing input 'a' (FP32 [-1, 3])", "missing input 'b' (INT32 [-1, 2, 2])",
      ]);
    });

    it('an input with a wrong datatype is not also reported missing', () => {
      expect(only(checkRequest(SIG, [a(1, { datatype: 'FP64' }), b(1)]))).toEqual({ path: 'inputs[0].datatype', message: "'a' is FP32, not FP64" });
    });
  });

  describe('shapes', () => {
    it('rejects a wrong rank', () => {
      const i = only(checkRequest(SIG, [a(1, { shape: [3], data: [1, 2, 3] }), b(1)]));
      expect(i).toEqual({ path: 'inputs[0].shape', message: 'shape [3] has 1 dimensions; a needs 2: [-1, 3]' });
    });

    it('rejects a fixed dimension mismatch, naming the dimension', () => {
      const i = only(checkRequest(SIG, [a(1), b(1, { shape: [1, 2, 3], data: [1, 2, 3, 4, 5, 6] })]));
      expect(i).toEqual({ path: 'inputs[1].shape', message: 'shape [1, 2, 3] does not match [-1, 2, 2] at dimension 2' });
    });

    it('rejects zero rows', () => {
      const i = only(checkRequest(SIG, [a(0), b(1)]));
      expect(i).toEqual({ path: 'inputs[0].shape', message: 'the batch dimension (first) must be at least 1' });
    });

    it('rejects inputs whose batch dimensions differ', () => {
      const i = only(checkRequest(SIG, [a(2), b(3)]));
      expect(i).toEqual({ path: 'inputs[1].shape', message: "batch dimension 3 differs from the other inputs' 2" });
    });
  });

  describe('data', () => {
    it('rejects data whose length does not match the shape', () => {
      const i = only(checkRequest(SIG, [a(2, { data: [1, 2, 3] }), b(2)]));
      expect(i.path).toBe('inputs[0].data');
      expect(i.message).toBe('data has 3 elements but shape [2, 3] needs 6');
    });

    it('rejects badly nested data', () => {
      const i = only(checkRequest(SIG, [a(2, { data: [[1, 2, 3], [4, 5]] }), b(2)]));
      expect(i).toEqual({ path: 'inputs[0].data', message: 'data[1] has 2 elements, shape says 3' });
    });

    it('rejects values that do not fit the datatype, with the element index', () => {
      const i = only(checkRequest(SIG, [a(1), b(1, { data: [1, 2, 3.5, 4] })]));
      expect(i.path).toBe('inputs[1].data');
      expect(i.message).toMatch(/^data\[2\] = 3.5 is not an integer in \[-2147483648, 2147483647\]/);
    });
  });

  describe('requested outputs', () => {
    const req = (outs: RequestedOutput[]) => checkRequest(SIG, [a(1), b(1)], outs);

    it('rejects an unknown output, listing the real ones', () => {
      expect(only(req([{ name: 'nope' }]))).toEqual({
        path: 'outputs[0].name', message: "unknown output 'nope'; the model has: probs, label, text, scores, mask",
      });
    });

    it('rejects an output requested twice', () => {
      expect(only(req([{ name: 'label' }, { name: 'label' }]))).toEqual({ path: 'outputs[1].name', message: "output 'label' requested twice" });
    });

    it('rejects a classification k that is not an integer from 1 to 1000 (gRPC parameters reach the check unparsed)', () => {
      for (const k of [0, -2, 2.5, 1001, '3', true, Number.NaN]) {
        expect(only(req([{ name: 'probs', parameters: { classification: k as number } }]))).toEqual({
          path: 'outputs[0].parameters.classification', message: `classification must be an integer from 1 to 1000 (got ${JSON.stringify(k)})`,
        });
      }
    });

    it('takes a classification k larger than the classes (Triton answers every class)', () => {
      expect(req([{ name: 'probs', parameters: { classification: 5 } }]).ok).toBe(true);
    });

    it('takes classification on a numeric output of any rank: a row\'s elements are its classes, as Triton', () => {
      expect(req([{ name: 'label', parameters: { classification: 1 } }]).ok).toBe(true); // INT64 [-1]: one class a row
    });

    it('rejects classification on BYTES and BOOL outputs', () => {
      expect(only(req([{ name: 'text', parameters: { classification: 1 } }])).message).toMatch(/^classification needs a numeric output with rows; 'text' is BYTES/);
      expect(only(req([{ name: 'mask', parameters: { classification: 1 } }])).message).toMatch(/'mask' is BOOL/);
    });

    it('an output checked without parameters needs nothing else', () => {
      expect(req([{ name: 'text', parameters: {} }]).ok).toBe(true);
    });
  });

  describe('issue collection', () => {
    it('collects every issue at once, in request order', () => {
      const r = checkRequest(
        SIG,
        [
          { name: 'zzz', datatype: 'FP32', shape: [1], data: [1] },
          a(1, { data: [1, 2, 'x'] }),
          a(1),
        ],
        [{ name: 'nope' }, { name: 'probs', parameters: { classification: 0 } }],
      );
      expect(issues(r).map((i) => i.path)).toEqual([
        'inputs[0].name', 'inputs[1].data', 'inputs[2].name', 'inputs', 'outputs[0].name', 'outputs[1].parameters.classification',
      ]);
      expect(issues(r)[3]!.message).toMatch(/missing input 'b'/);
    });
  });

  describe('fixed-batch signatures (batchable = false)', () => {
    const x = (shape: number[], data: unknown[]): JsonTensor => ({ name: 'x', datatype: 'FP32', shape, data });
    const y = (shape: number[], data: unknown[]): JsonTensor => ({ name: 'y', datatype: 'INT32', shape, data });
    const six = [1, 2, 3, 4, 5, 6];

    it('accepts the exact shape; rows are the declared first dimension', () => {
      const v = ok(checkRequest(FIXED, [x([2, 3], six), y([2, 3], six)]));
      expect(v.rows).toBe(2);
      expect(v.inputs.map((t) => t.shape)).toEqual([[2, 3], [2, 3]]);
    });

    it('rejects a different first dimension (no batching of a fixed-batch model)', () => {
      expect(only(checkRequest(FIXED, [x([1, 3], [1, 2, 3]), y([2, 3], six)]))).toEqual({
        path: 'inputs[0].shape', message: 'shape [1, 3] does not match [2, 3] at dimension 0',
      });
      expect(only(checkRequest(FIXED, [x([4, 3], [...six, ...six]), y([2, 3], six)])).message).toMatch(/at dimension 0/);
    });

    it('rejects a zero first dimension as a shape mismatch', () => {
      expect(only(checkRequest(FIXED, [x([0, 3], []), y([2, 3], six)])).message).toBe('shape [0, 3] does not match [2, 3] at dimension 0');
    });

    it('rejects other dimension mismatches', () => {
      expect(only(checkRequest(FIXED, [x([2, 3], six), y([2, 2], [1, 2, 3, 4])])).message).toMatch(/at dimension 1/);
    });
  });
});

describe('misfit (a worker checking a job against the model it serves now)', () => {
  const sig: Signature = {
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }, { name: 'k', datatype: 'INT64', shape: [-1] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    batchable: true,
  };
  const x = { name: 'x', datatype: 'FP32' as const, shape: [3, 4] };
  const k = { name: 'k', datatype: 'INT64' as const, shape: [3] };

  it('finds nothing in tensors that fit, whatever their rows', () => {
    expect(misfit(sig, [x, k], [{ name: 'y' }])).toBeUndefined();
    expect(misfit(sig, [k, { ...x, shape: [1000, 4] }])).toBeUndefined();
  });

  it.each([
    ['an input the model lacks', [x, k, { name: 'z', datatype: 'FP32' as const, shape: [3] }], [], { path: 'inputs[2].name', message: "unknown input 'z'; the model has: x, k" }],
    ['another datatype', [{ ...x, datatype: 'FP64' as const }, k], [], { path: 'inputs[0].datatype', message: 'FP64; x is FP32' }],
    ['another width', [{ ...x, shape: [3, 32] }, k], [], { path: 'inputs[0].shape', message: 'shape [3, 32] does not match [-1, 4] at dimension 1' }],
    ['another rank', [x, { ...k, shape: [3, 1] }], [], { path: 'inputs[1].shape', message: 'shape [3, 1] has 2 dimensions; k needs 1: [-1]' }],
    ['an input missing', [x], [], { path: 'inputs', message: "missing input 'k'" }],
    ['an output the model lacks', [x, k], [{ name: 'y' }, { name: 'p' }], { path: 'outputs[1].name', message: "unknown output 'p'; the model has: y" }],
  ])('names %s', (_, inputs, outputs, issue) => {
    expect(misfit(sig, inputs, outputs)).toEqual(issue);
  });
});
