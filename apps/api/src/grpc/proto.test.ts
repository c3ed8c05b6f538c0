import { describe, expect, it } from 'vitest';
import { MalformedMessage, tolerantService } from './proto.js';

describe('tolerantService', () => {
  const infer = tolerantService()['ModelInfer']!;
  const bytes = infer.requestSerialize({ model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32] }] });

  it('decodes a valid message as before', () => {
    expect(infer.requestDeserialize(bytes)).toMatchObject({ model_name: 'mlp', inputs: [{ name: 'input', shape: [1, 32] }] });
  });

  it('turns bytes that do not decode into a MalformedMessage instead of throwing', () => {
    const truncated = infer.requestDeserialize(bytes.subarray(0, bytes.length - 3));
    expect(truncated).toBeInstanceOf(MalformedMessage);
    expect((truncated as MalformedMessage).reason).toMatch(/\S/);
  });
});
