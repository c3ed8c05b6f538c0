import { describe, expect, it } from 'vitest';
import { namesMismatch, SessionChecks } from './session-check.js';

const version = {
  inputs: [{ name: 'a', datatype: 'FP32' as const, shape: [-1, 2] }, { name: 'b', datatype: 'FP32' as const, shape: [-1] }],
  outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1] }],
};

describe('namesMismatch', () => {
  it('agrees when onnxruntime sees the names the metadata read gave, in order', () => {
    expect(namesMismatch(version, { inputs: ['a', 'b'], outputs: ['y'] })).toBeUndefined();
  });

  it('says which side differs', () => {
    expect(namesMismatch(version, { inputs: ['a'], outputs: ['y'] })).toBe('onnxruntime sees inputs [a], the metadata [a, b]');
    expect(namesMismatch(version, { inputs: ['b', 'a'], outputs: ['y'] })).toMatch(/^onnxruntime sees inputs \[b, a\]/);
    expect(namesMismatch(version, { inputs: ['a', 'b'], outputs: ['z'] })).toBe('onnxruntime sees outputs [z], the metadata [y]');
  });
});

describe('SessionChecks', () => {
  const v = (path: string, stamp = 's1') => ({ model: 'm', version: 1, path, stamp, inputs: [], outputs: [], maxBatchSize: 0, batchable: false, digest: 'd' });
  /** a run whose checks stay open until settled by hand */
  function pending() {
    const runs: { path: string; pass: () => void; fail: (m: string) => void }[] = [];
    const run = (x: { path: string }) => new Promise<void>((resolve, reject) => runs.push({ path: x.path, pass: resolve, fail: (m) => reject(new Error(m)) }));
    return { runs, run };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  it('checks one file at a time, each once per stamp; keeps why one failed; checks a rewritten file again', async () => {
    const { runs, run } = pending();
    const checks = new SessionChecks(run);
    const a = checks.check(v('a'));
    const a2 = checks.check(v('a'));
    const b = checks.check(v('b'));
    await tick();
    expect(runs.map((r) => r.path)).toEqual(['a']);
    runs[0]!.pass();
    await tick();
    expect(runs.map((r) => r.path)).toEqual(['a', 'b']);
    runs[1]!.fail('onnxruntime session cannot be created: bad op');
    await expect(a).resolves.toBeUndefined();
    await expect(a2).resolves.toBeUndefined();
    await expect(b).rejects.toThrow('bad op');
    await expect(checks.check(v('b'))).rejects.toThrow('bad op');
    await expect(checks.check(v('a'))).resolves.toBeUndefined();
    expect(checks.refusal(v('b'))).toBe('onnxruntime session cannot be created: bad op');
    expect(checks.refusal(v('a'))).toBeUndefined();
    expect(checks.refusal(v('b', 's2'))).toBeUndefined();
    expect(checks.refusal(v('c'))).toBeUndefined();
    expect(runs).toHaveLength(2);
    const rewritten = checks.check(v('b', 's2'));
    await tick();
    expect(runs).toHaveLength(3);
    expect(checks.refusal(v('b', 's2'))).toBeUndefined();
    runs[2]!.pass();
    await expect(rewritten).resolves.toBeUndefined();
    expect(checks.refusal(v('b'))).toBeUndefined();
  });
});
