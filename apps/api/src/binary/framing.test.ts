import { describe, expect, it } from 'vitest';
import { BinaryData, MalformedBodyError, outputTensor, ValidationError, valuesMade } from '@maas/shared';
import { binaryOutputs, decodeBytesElements, encodeBytesElements, frameResponse, packValues, parseBinaryRequest, parseHeaderLength } from './framing.js';

/** A body built by hand, byte by byte, the way the Triton documentation draws it. */
function body(header: object, ...tensors: Buffer[]): { buf: Buffer; len: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { buf: Buffer.concat([json, ...tensors]), len: json.byteLength };
}
const f32 = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);
const inputs = (h: unknown) => (h as { inputs: { name: string; data: unknown }[] }).inputs;

describe('parseHeaderLength', () => {
  it('reads a byte count', () => expect(parseHeaderLength(' 42 ')).toBe(42));
  it.each(['', '-1', '1.5', 'abc', '9'.repeat(13)])('rejects %j', (v) => expect(() => parseHeaderLength(v)).toThrow(MalformedBodyError));
});

describe('BYTES elements', () => {
  it('are a 4-byte little-endian length then the bytes', () => {
    expect([...encodeBytesElements(['ab', '', 'é'])]).toEqual([2, 0, 0, 0, 97, 98, 0, 0, 0, 0, 2, 0, 0, 0, 0xc3, 0xa9]);
  });
  it('round-trip', () => expect(decodeBytesElements(encodeBytesElements(['x', 'yz', '']), 't')).toEqual(['x', 'yz', '']));
  it('report a truncated prefix and an overlong length', () => {
    expect(() => decodeBytesElements(Buffer.from([1, 0, 0, 0, 97, 5, 0]), 't')).toThrow(/element 1 has a truncated length prefix/);
    expect(() => decodeBytesElements(Buffer.from([9, 0, 0, 0, 97]), 't')).toThrow(/element 0 claims 9 bytes but only 1 remain/);
  });
  it('refuse what would reach the model altered: bytes that are not UTF-8 (a 400, not a 200 with other data); a NUL is the shared check\'s', () => {
    const frame = (...els: number[][]) => Buffer.concat(els.map((e) => Buffer.from([e.length, 0, 0, 0, ...e])));
    expect(() => decodeBytesElements(frame([97], [0xff, 0xfe]), 't')).toThrow(ValidationError);
    expect(() => decodeBytesElements(frame([97], [0xff, 0xfe]), 't')).toThrow(/BYTES element 1 is not UTF-8 text/);
    expect(() => decodeBytesElements(frame([0x89, 0x50, 0x4e, 0x47]), 't')).toThrow(/element 0 is not UTF-8/);
    expect(decodeBytesElements(frame([97, 0, 98]), 't')).toEqual(['a\0b']); // refused by checkBytes (shared tensors/bytes.ts)
    expect(decodeBytesElements(frame([0xc3, 0xa9], [0xf0, 0x9f, 0x98, 0x80]), 't')).toEqual(['é', '😀']);
  });
});

describe('parseBinaryRequest', () => {
  it('gives each binary input its slice, in header order, and leaves JSON inputs alone', () => {
    const { buf, len } = body(
      {
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } },
          { name: 'j', datatype: 'INT32', shape: [1], data: [7] },
          { name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 13 } },
        ],
        outputs: [{ name: 'o', parameters: { binary_data: true } }],
      },
      f32(1.5, NaN),
      encodeBytesElements(['hi', 'you']),
    );
    const h = parseBinaryRequest(buf, len);
    const [a, j, s] = inputs(h);
    expect(a!.data).toBeInstanceOf(BinaryData);
    const bytes = (a!.data as BinaryData).value as Uint8Array;
    expect(new Float32Array(new Uint8Array(bytes).buffer)[1]).toBeNaN();
    expect(j!.data).toEqual([7]);
    expect((s!.data as BinaryData).value).toEqual(['hi', 'you']);
  });
  it('refuses BYTES of another element count than the shape holds from the length prefixes, before any element is decoded', () => {
    const many = Buffer.alloc(4 * 1_000_000); // a million empty elements
    for (const [elements, got] of [[many, 'more than 32'], [encodeBytesElements(['a', 'b']), '2']] as const) {
      const { buf, len } = body({ inputs: [{ name: 's', datatype: 'BYTES', shape: [1, 32], parameters: { binary_data_size: elements.byteLength } }] }, elements);
      expect(() => parseBinaryRequest(buf, len)).toThrow(expect.objectContaining({ issues: [{ path: 'inputs[0].data', message: `binary data has ${got} BYTES elements but shape [1, 32] needs 32` }] }));
    }
  });
  it("names the BYTES element whose length runs past the end (it said the count was short)", () => {
    const cut = Buffer.from([5, 0, 0, 0, 97, 98]); // a length of 5 with 2 bytes after it
    const { buf, len } = body({ inputs: [{ name: 's', datatype: 'BYTES', shape: [1, 3], parameters: { binary_data_size: cut.byteLength } }] }, cut);
    expect(() => parseBinaryRequest(buf, len)).toThrow("input 's': BYTES element 0's length 5 runs past the end of its binary_data_size (2 bytes left after its 4-byte length)");
  });
  it('accepts a header with no binary input at all', () => {
    const { buf, len } = body({ inputs: [{ name: 'j', datatype: 'INT32', shape: [1], data: [7] }] });
    expect(inputs(parseBinaryRequest(buf, len))[0]!.data).toEqual([7]);
  });
  it('says when the header length exceeds the body', () => {
    expect(() => parseBinaryRequest(Buffer.from('{}'), 10)).toThrow('Inference-Header-Content-Length is 10 but the body has only 2 bytes');
  });
  it('says when the header is not JSON', () => {
    expect(() => parseBinaryRequest(Buffer.from('{"inputs": [1'), 13)).toThrow(/the first 13 bytes .* are not a JSON header/);
  });
  it('says when the sizes run past the body', () => {
    const { buf, len } = body({ inputs: [{ name: 'a', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }] }, f32(1));
    expect(() => parseBinaryRequest(buf, len)).toThrow("input 'a': binary_data_size 8 runs past the end of the body (4 bytes left)");
  });
  it('says when bytes are left over', () => {
    const { buf, len } = body({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } }] }, f32(1, 2));
    expect(() => parseBinaryRequest(buf, len)).toThrow('4 bytes after the header are not claimed by any input');
  });
  it('rejects a bad size and data given twice', () => {
    const bad = body({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1], parameters: { binary_data_size: -4 } }] });
    expect(() => parseBinaryRequest(bad.buf, bad.len)).toThrow(/binary_data_size must be a byte count, got -4/);
    const both = body({ inputs: [{ name: 'a', datatype: 'FP32', shape: [1], data: [1], parameters: { binary_data_size: 4 } }] }, f32(1));
    expect(() => parseBinaryRequest(both.buf, both.len)).toThrow("input 'a' has both data and parameters.binary_data_size");
  });
});

describe('packValues', () => {
  it('packs each datatype little-endian', () => {
    expect([...packValues('INT16', [-2, 3])]).toEqual([0xfe, 0xff, 3, 0]);
    expect([...packValues('BOOL', [true, false])]).toEqual([1, 0]);
    expect([...packValues('INT64', [-1])]).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
    expect(new Float64Array(new Uint8Array(packValues('FP64', [Infinity, 0.1])).buffer)).toEqual(new Float64Array([Infinity, 0.1]));
  });
});

describe('binaryOutputs', () => {
  it('an output\'s own binary_data wins over binary_data_output', () => {
    const pick = binaryOutputs({ binary_data_output: true }, [{ name: 'a', parameters: { binary_data: false } }]);
    expect([pick('a'), pick('b')]).toEqual([false, true]);
    expect(binaryOutputs(undefined, [{ name: 'a', parameters: { binary_data: true } }])('b')).toBe(false);
  });
});

describe('frameResponse', () => {
  const doc = {
    model_name: 'm',
    outputs: [
      { name: 'p', datatype: 'FP32' as const, shape: [2], data: [0.5, -Infinity] },
      { name: 'l', datatype: 'INT64' as const, shape: [1], data: [3] },
    ],
  };
  it('is plain JSON when nothing is binary', () => {
    const f = frameResponse(doc, () => false);
    expect(f.headerLength).toBeUndefined();
    expect(JSON.parse(Buffer.concat(f.pieces).toString()).outputs[1].data).toEqual([3]);
  });
  it('takes outputs made from bytes (output-tensor.ts) as they are, without making their JSON values', () => {
    const values = Float32Array.from({ length: 5000 }, (_, i) => (i === 1 ? -Infinity : i / 4)); // large: made lazily
    const bytes = new Uint8Array(values.buffer);
    const p = outputTensor({ name: 'p', datatype: 'FP32', shape: [5000], data: bytes });
    const s = outputTensor({ name: 's', datatype: 'BYTES', shape: [1], data: ['hé'] });
    const f = frameResponse({ model_name: 'm', outputs: [p, s] }, () => true);
    expect(valuesMade(p)).toBe(false);
    expect(f.pieces[1]!.buffer).toBe(bytes.buffer); // the bytes themselves, no copy
    const tail = Buffer.concat(f.pieces).subarray(f.headerLength);
    expect(new Float32Array(new Uint8Array(tail.subarray(0, 20000)).buffer)).toEqual(values);
    expect(tail.subarray(20000)).toEqual(Buffer.from([3, 0, 0, 0, ...Buffer.from('hé')]));
  });
  it('moves binary outputs after the header, mixed with JSON ones', () => {
    const f = frameResponse(doc, (n) => n === 'p');
    const header = JSON.parse(Buffer.concat(f.pieces).subarray(0, f.headerLength).toString());
    expect(header.outputs[0]).toEqual({ name: 'p', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } });
    expect(header.outputs[1].data).toEqual([3]);
    const tail = new Uint8Array(Buffer.concat(f.pieces).subarray(f.headerLength));
    expect([...new Float32Array(tail.slice().buffer)]).toEqual([0.5, -Infinity]);
  });
});
