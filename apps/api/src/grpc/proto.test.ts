import { describe, expect, it } from 'vitest';
import { MalformedMessage, tolerantService } from './proto.js';

describe('tolerantService', () => {
  const infer = tolerantService()['ModelInfer']!;
  const bytes = infer.requestSerialize({ model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 32] }] });

  it('decodes a valid message as before, int64 fields as decimal strings', () => {
    expect(infer.requestDeserialize(bytes)).toMatchObject({ model_name: 'mlp', inputs: [{ name: 'input', shape: ['1', '32'] }] });
  });

  it('int64 and uint64 contents past 2^53 decode exactly', () => {
    const message = Buffer.from(infer.requestSerialize({
      model_name: 'm',
      inputs: [
        { name: 'a', datatype: 'INT64', shape: [2], contents: { int64_contents: ['-9223372036854775808', '9007199254740993'] } },
        { name: 'b', datatype: 'UINT64', shape: [1], contents: { uint64_contents: ['18446744073709551615'] } },
      ],
    }));
    const decoded = infer.requestDeserialize(message) as { inputs: { contents: Record<string, string[]> }[] };
    expect(decoded.inputs[0]!.contents['int64_contents']).toEqual(['-9223372036854775808', '9007199254740993']);
    expect(decoded.inputs[1]!.contents['uint64_contents']).toEqual(['18446744073709551615']);
  });

  it('turns bytes that do not decode into a MalformedMessage instead of throwing', () => {
    const truncated = infer.requestDeserialize(bytes.subarray(0, bytes.length - 3));
    expect(truncated).toBeInstanceOf(MalformedMessage);
    expect((truncated as MalformedMessage).reason).toMatch(/\S/);
  });
  it('a string field cut short by the end of the message is malformed, not read short (protobufjs reads a Buffer\'s strings unchecked)', () => {
    // field 3 (id), length 10, but only "abc" follows
    const cut = Buffer.concat([bytes, Buffer.from([0x1a, 0x0a]), Buffer.from('abc')]);
    expect(infer.requestDeserialize(cut)).toBeInstanceOf(MalformedMessage);
    // field 1 (model_name), length 5, two bytes
    expect(infer.requestDeserialize(Buffer.from([0x0a, 0x05, 0x61, 0x62]))).toBeInstanceOf(MalformedMessage);
  });

  it('hands raw_input_contents over as Buffers viewing the message (no copy)', () => {
    const raw = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
    const message = Buffer.from(infer.requestSerialize({ model_name: 'penguins', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [raw] }));
    const decoded = infer.requestDeserialize(message) as { raw_input_contents: Buffer[]; model_name: string };
    expect(decoded.model_name).toBe('penguins');
    expect(Buffer.isBuffer(decoded.raw_input_contents[0])).toBe(true);
    expect(decoded.raw_input_contents[0]!.equals(raw)).toBe(true);
    expect(decoded.raw_input_contents[0]!.buffer).toBe(message.buffer);
  });
});
