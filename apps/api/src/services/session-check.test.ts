import { describe, expect, it } from 'vitest';
import { namesMismatch } from './session-check.js';

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
