import { describe, expect, it } from 'vitest';
import { MAX_TENSORS } from '@maas/shared';
import { MalformedMessage, tolerantService } from './proto.js';
import { inferRequestBoundsProblem, OCCURRENCES_MAX, SMALL_REQUEST_MAX } from './wire-bounds.js';

const infer = tolerantService()['ModelInfer']!;
const encode = (message: object) => new Uint8Array(infer.requestSerialize(message));
/** `times` copies of `piece` after `head`: what a hostile encoder writes by hand. */
const repeated = (head: Uint8Array, piece: number[], times: number) => {
  const out = new Uint8Array(head.length + piece.length * times);
  out.set(head);
  for (let i = 0; i < times; i++) out.set(piece, head.length + i * piece.length);
  return out;
};
const named = encode({ model_name: 'mlp' });

describe('inferRequestBoundsProblem', () => {
  it('passes what clients send: tensors, packed numbers however many, raw contents, BYTES', () => {
    expect(inferRequestBoundsProblem(encode({
      model_name: 'mlp', id: 'x', parameters: { priority: { int64_param: 1 } },
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [65_536, 32], contents: { fp32_contents: new Array(2_000_000).fill(0.5) } },
        { name: 'ids', datatype: 'INT64', shape: [3], contents: { int64_contents: ['1', '-2', '9223372036854775807'] } },
        { name: 'text', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('a'), Buffer.from('bc')] } },
      ],
      outputs: [{ name: 'output', parameters: { classification: { int64_param: 3 } } }],
    }))).toBeUndefined();
    expect(inferRequestBoundsProblem(encode({ model_name: 'm', inputs: [{ name: 'a', datatype: 'FP32', shape: [1] }], raw_input_contents: [Buffer.alloc(4)] }))).toBeUndefined();
  });

  it('refuses more inputs, outputs or raw contents than MAX_TENSORS before decoding, from millions of empty entries in a few bytes each', () => {
    expect(inferRequestBoundsProblem(repeated(named, [0x2a, 0x00], 5_000_000))).toBe(`inputs: at most ${MAX_TENSORS} (got more)`);
    expect(inferRequestBoundsProblem(repeated(named, [0x32, 0x00], MAX_TENSORS + 1))).toBe(`outputs: at most ${MAX_TENSORS} (got more)`);
    expect(inferRequestBoundsProblem(repeated(named, [0x3a, 0x00], MAX_TENSORS + 1))).toBe(`raw_input_contents: at most ${MAX_TENSORS} (got more)`);
    expect(inferRequestBoundsProblem(repeated(named, [0x22, 0x00], MAX_TENSORS + 1))).toBe(`parameters: at most ${MAX_TENSORS} (got more)`);
    expect(inferRequestBoundsProblem(repeated(named, [0x2a, 0x00], MAX_TENSORS))).toBeUndefined();
  });

  it('refuses a shape of more than MAX_DIMS dimensions, packed or not', () => {
    expect(inferRequestBoundsProblem(encode({ model_name: 'm', inputs: [{ name: 'a', shape: new Array(65).fill(1) }] }))).toBe('inputs[0].shape: at most 64 dimensions (got 65)');
    // unpacked: field 3 as varints, one a dimension
    const unpacked = repeated(new Uint8Array(), [0x18, 0x01], 65);
    expect(inferRequestBoundsProblem(Uint8Array.from([...named, 0x2a, ...varint(unpacked.length), ...unpacked]))).toBe('inputs[0].shape: at most 64 dimensions (got more)');
  });

  it('refuses more than OCCURRENCES_MAX elements that each decode to an object: BYTES entries, INT64 elements, unknown fields', () => {
    const over = `more than ${OCCURRENCES_MAX} fields and elements in one request`;
    const empties = repeated(new Uint8Array(), [0x42, 0x00], OCCURRENCES_MAX + 1); // bytes_contents
    const contents = Uint8Array.from([0x2a, ...varint(empties.length), ...empties]);
    expect(inferRequestBoundsProblem(Uint8Array.from([...named, 0x2a, ...varint(contents.length), ...contents]))).toBe(over);
    const longs = new Uint8Array(OCCURRENCES_MAX + 1); // int64_contents, packed zeros
    const packed = Uint8Array.from([0x1a, ...varint(longs.length), ...longs]);
    const tensor = Uint8Array.from([0x2a, ...varint(packed.length), ...packed]);
    expect(inferRequestBoundsProblem(Uint8Array.from([...named, 0x2a, ...varint(tensor.length), ...tensor]))).toBe(over);
    expect(inferRequestBoundsProblem(repeated(named, [0x78, 0x00], OCCURRENCES_MAX + 1))).toBe(over); // field 15, unknown
  });

  it('refuses what the decoder would read otherwise than the walk: groups, known fields of a wire type their type never has, a message cut short', () => {
    const empties = repeated(new Uint8Array(), [0x2a, 0x00], 1000);
    // A group (field 15) before what it would hide: protobufjs skips groups of unknown fields.
    expect(inferRequestBoundsProblem(Uint8Array.from([...named, 0x7b, 0x7c, ...empties]))).toMatch(/field 15 has wire type 3/);
    // `inputs` as a varint: skipped by a walk that believed it, decoded as a tensor by protobufjs.
    expect(inferRequestBoundsProblem(Uint8Array.from([...named, 0x28, 0x05, 0x1a, 0x03, 0, 0, 0]))).toMatch(/field 5 has wire type 0/);
    // a shape as fixed32, contents as a varint, fp32 contents as a varint
    expect(inferRequestBoundsProblem(Uint8Array.from([...named, 0x2a, 0x05, 0x1d, 0, 0, 0, 0]))).toMatch(/field 3 has wire type 5/);
    expect(inferRequestBoundsProblem(Uint8Array.from([...named, 0x2a, 0x02, 0x28, 0x01]))).toMatch(/field 5 has wire type 0/);
    expect(inferRequestBoundsProblem(Uint8Array.from([...named, 0x2a, 0x04, 0x2a, 0x02, 0x30, 0x01]))).toMatch(/field 6 has wire type 0/);
    expect(inferRequestBoundsProblem(Uint8Array.from([0x2a, 0x10, 0x01]))).toMatch(/cut short/);
    // unpacked varints and fixed32s where the type allows them pass
    expect(inferRequestBoundsProblem(Uint8Array.from([...named, 0x2a, 0x0b, 0x18, 0x01, 0x18, 0x04, 0x2a, 0x05, 0x35, 0, 0, 0x80, 0x3f]))).toBeUndefined();
  });
});

describe('tolerantService bounds', () => {
  it('answers a bound passed as a MalformedMessage naming it, for infer; other requests at most SMALL_REQUEST_MAX bytes', () => {
    const bounded = infer.requestDeserialize(Buffer.from(repeated(named, [0x2a, 0x00], MAX_TENSORS + 1)));
    expect(bounded).toBeInstanceOf(MalformedMessage);
    expect(bounded).toMatchObject({ bound: true, reason: `inputs: at most ${MAX_TENSORS} (got more)` });
    const live = tolerantService()['ServerLive']!;
    expect(live.requestDeserialize(Buffer.alloc(SMALL_REQUEST_MAX + 1))).toMatchObject({ bound: true });
    expect(live.requestDeserialize(Buffer.alloc(0))).not.toBeInstanceOf(MalformedMessage);
  });
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}
