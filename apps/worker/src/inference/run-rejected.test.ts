import { describe, expect, it } from 'vitest';
import { rejectedByRows } from './run-rejected.js';

describe('rejectedByRows', () => {
  it("takes onnxruntime's refusal of the values for the rows', never a memory, provider or session fault", () => {
    expect(rejectedByRows("Non-zero status code returned while running Gather node. Name:'/Gather' Status Message: indices element out of data bounds, idx=42")).toBe(true);
    expect(rejectedByRows('Failed to allocate memory for requested buffer of size 4294967296')).toBe(false);
    expect(rejectedByRows('CUDA failure 700: an illegal memory access was encountered')).toBe(false);
    expect(rejectedByRows('Session already released')).toBe(false);
  });
});
